// Package engine is the Rayvens stream engine: streams of events, the
// subscribers they deliver to, and the lifecycle that runs them on goroutines.
// It imports no Starlark and no plugin code, so a Go program can use streams
// with nothing else.
//
// # Values
//
//   - [Engine] owns every stream, actor and task pool it creates, and every
//     goroutine they run. [Engine.Wait] blocks until the pipeline is drained;
//     [Engine.Shutdown] stops sources, drains and stops the goroutines.
//   - [Stream] has a bounded inbox and one dispatch goroutine, which runs
//     while the stream has work (an idle stream costs no goroutine).
//     [Stream.Append] never drops an event: it blocks while the inbox is
//     full (backpressure).
//   - [Subscriber] is what a stream delivers to: [Func] (runs on the
//     stream's dispatch goroutine, in subscription order), [Actor.Method]
//     (the actor's own goroutine and bounded mailbox, in order), [Pool] (N
//     goroutines, no order), [Forward] (appends to another stream), [Async]
//     (completes each event later, through a done callback) and [ToSink]
//     (delivers to a [Sink], with acknowledgements).
//   - [Sink] is where events leave with an acknowledgement, such as a
//     connector sink: an event is in flight until its sink confirms it.
//   - [Source] is a producer attached to a stream ([Stream.AddSource]); the
//     engine counts connected sources when it decides whether a run is over.
//
// # Guarantees
//
// Events appended by one goroutine reach each in-order subscriber in the order
// they were appended. Every queue is bounded: a slow subscriber slows the
// dispatcher, which fills the inbox, which blocks the producer. Subscribing
// affects events appended after Subscribe returns. A subscriber's non-nil
// results are appended to its derived stream, with backpressure as well. A
// failing subscriber (an error or a panic) skips that event only; the failure
// is counted and handed to [Options.OnError]. Subscriptions that would form a
// cycle of streams are refused.
//
// # Cost
//
// The hot path is batched without changing what a subscriber sees: an
// append takes the inbox's lock and, only when the dispatcher sleeps, wakes
// it; the dispatcher takes every waiting event at once and handles them
// one by one, in order. In-flight counts change once per busy period of a
// stream, not per event. An engine whose handlers need a lock (a script
// interpreter's, [Engine.SetInterlock]) takes it once per batch. Each
// hot path has a benchmark (bench_test.go; docs/performance.md has the
// figures).
//
// # Delivery records
//
// An event appended with an acknowledgement ([Stream.AppendAck], or
// [WithAck] from a source's emit) carries a delivery record
// (delivery.go). It completes when every subscriber call it was fanned
// out to has finished, including the events it caused downstream (results
// on derived streams, forwarded events, the batches it is in, actor and
// task results) and every sink write it reached has been acknowledged
// ([Sink], [ToSink]). The outcome is nil or the first failure (a
// *StreamError naming the stream and the subscriber or operator); events a
// forced shutdown abandons fail with ErrClosed. An event an operator drops
// (nil) is done. Events appended without an acknowledgement have no record
// and cost nothing extra.
//
// # Lifecycle
//
// Every event is counted from the moment a stream accepts it until every
// subscriber, including actors, pools and derived streams, is done with it.
// The engine is idle when that count is zero and no source is connected;
// partial batches are flushed at that point rather than waiting for their
// timeout ("flush on drain").
package engine
