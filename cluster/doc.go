// Package cluster carries Rayvens streams over NATS JetStream, so that
// processes on one or several hosts share them. It knows nothing of the
// engine or of Starlark: it moves [camel.Event] values (body, content type,
// headers) between processes, and the caller decides what a stream means.
//
// # Connecting
//
// [Connect] joins the NATS servers of a [Config] (from [ParseURL] for a
// flag value: "embedded", "embedded:PORT" or "nats://host:port,..."), or,
// with Config.Embedded, first starts a NATS server with JetStream in the
// process. The embedded server listens on all interfaces by default
// (Config.Host), so that processes on other hosts can join it with
// nats://HOST:PORT; its store is Config.StoreDir, or a temporary folder
// that [Cluster.Close] removes. Anyone who reaches its port can read and
// append to the streams unless Config sets a username and password or a
// token, which the server then requires. The connection reconnects by itself after
// a server is lost. An unreachable server or a refused credential is one
// error naming host:port and the cause, never a password.
//
// # Naming
//
// A Rayvens stream NAME of namespace NS (Config.Namespace, "rayvens" by
// default) is the JetStream stream NS_NAME with the subject NS.stream.NAME,
// where every byte of NAME but letters and digits is written -XX in
// hexadecimal ("a.b" is a-2Eb), which JetStream accepts in names and
// subjects and never makes two names meet. [Cluster.Stream] creates the stream if it is missing and
// binds it if it exists, so the same name from two processes is the same
// stream; a JetStream stream of that name with other subjects is a
// namespace clash and an error. Streams keep their events (limits
// retention), so that every subscriber can read all of them.
//
// # Publishing
//
// [Stream.Publish] sends an event without waiting for the server: up to
// Config.PublishWindow publishes may be unacknowledged at once, and a
// Publish with the window full blocks until an acknowledgement frees a
// place (backpressure). An event is durable once the server has
// acknowledged it; [Stream.Flush] waits for every publish so far. Each
// publish carries a message ID, so a publish that timed out (a server lost
// mid-way) is sent again without being stored twice, until no server has
// answered for a minute. A publish refused for good (too large, or no
// server for a minute) is an error: of that Publish when nats.go refuses
// it, else of the next Publish or Flush, which count the events not
// stored. Nothing is dropped silently. Events of one publisher are stored in order, except
// that a publish sent again may land after later ones.
//
// # Subscribing
//
// [Stream.Subscribe] makes a durable JetStream consumer, which exists in
// the server when it returns: events appended after that, from any
// process, reach it; events already in the stream do too, from the first
// one the consumer has not had acknowledged.
//
//   - [Broadcast]: the consumer (b_NAME_SUB) is named after Config.Name
//     and the subscription name, so each process gets every event, in
//     order (two processes given the same Name would share it); the
//     handler gets the next event only after calling done for the previous
//     one. A process that stops and starts again with the same Name resumes
//     after the last event it acknowledged.
//   - [WorkQueue]: every process subscribing with the same subscription
//     name shares one consumer (w_SUB), so each event goes to one of them. The
//     handler may hold up to Config.WorkInFlight events at once (it calls
//     done later, from any goroutine), in no particular order.
//
// done(nil) acknowledges an event. done(err) means the event failed and
// must be handled again after Config.RetryDelay: a Broadcast subscription
// hands the same event again (the next one must not overtake it), a work
// queue hands it back to the server (a negative acknowledgement with that
// delay), for whichever process fetches it then. An event is never
// dropped: consumers deliver without a limit of attempts.
//
// While the handler holds an event, the subscription tells the server it
// is still in progress. If the process dies without calling done, its
// events are delivered again after Config.AckWait (5 s by default), to
// another process of a work queue, or to the next run of a Broadcast
// process with the same Name. [Subscription.Close] stops delivery and
// keeps the consumer for a restart: a Broadcast subscription hands its
// event back at once, so the next run starts with it; the events a work
// queue handler still holds come back after AckWait unless it calls done
// meanwhile. So an event is handled at least once, and a Broadcast
// process sees the events in order, the one it was handling when it died
// perhaps twice.
//
// Broadcast holds one event at a time in the server too (MaxAckPending
// 1), since JetStream redelivers events handed back in no particular
// order; it is therefore slower than a work queue, by a round trip per
// event.
package cluster
