package kafka

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// SinkKind declares kafka-sink.
var SinkKind = sdk.SinkKind{
	Name:        "kafka-sink",
	Kamelet:     "kafka-sink",
	Description: "Send data to Kafka topics. Each event becomes one record; a batch is acknowledged only once the brokers acknowledged every record of it (acks=all, idempotent producer).",
	Events:      "each event is the value of one record; the kafka.KEY, kafka.PARTITION_KEY and kafka.OVERRIDE_TOPIC headers set its key, partition and topic, other headers (but Camel* and kafka.*) become record headers",
	Params:      commonParams("sink"),
	New:         newSink,
}

// deliveryTimeout bounds how long a record waits for the brokers (down,
// or electing a leader) before its Write fails and the host sends it again.
const deliveryTimeout = 15 * time.Second

// sink is one kafka-sink instance. Write is called for one batch at a time.
type sink struct {
	cl      *kgo.Client
	seeds   []string
	topic   string
	log     *slog.Logger
	reached bool          // a broker answered once: later failures are the records'
	timeout time.Duration // deliveryTimeout; tests shorten it
}

func newSink(cfg sdk.Config, log *slog.Logger) (sdk.Sink, error) {
	const kind = "kafka-sink"
	seeds, opts, err := clientOpts(kind, cfg)
	if err != nil {
		return nil, err
	}
	topic := strings.TrimSpace(cfg.String("topic"))
	if !isTopicName(topic) {
		return nil, fmt.Errorf("%s: topic: a Kafka topic name is 1 to 249 letters, digits, '.', '_' or '-' (one topic: the sink writes to one)", kind)
	}
	opts = append(opts,
		kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(partitioner{kgo.StickyKeyPartitioner(nil)}),
		kgo.RecordDeliveryTimeout(deliveryTimeout),
		kgo.AllowAutoTopicCreation(), // as the Java producer Camel uses
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	return &sink{cl: cl, seeds: seeds, topic: topic, log: log, timeout: deliveryTimeout}, nil
}

// Write produces every event of the batch and returns once the brokers
// acknowledged each record: nil when all were, sdk.Partial(i, err) when the
// records before batch[i] were (those after it may have been too: they are
// sent again, at least once), sdk.Permanent for what Kafka refuses for good
// (a record too large, a topic it forbids) or an event whose headers make
// no record (a partition key that is not a number).
func (s *sink) Write(ctx context.Context, batch []sdk.Event) error {
	if !s.reached {
		pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := reach(pingCtx, "kafka-sink", s.cl, s.seeds)
		cancel()
		if err != nil {
			return err
		}
		s.reached = true
	}
	// The records' context bounds their wait: the client fails a record
	// whose context ends before it is sent.
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	records := make([]*kgo.Record, 0, len(batch))
	var refused error // why batch[len(records)] makes no record
	for _, ev := range batch {
		r, err := record(ctx, ev)
		if err != nil {
			refused = sdk.Permanent(fmt.Errorf("kafka-sink: not written: %w", err))
			break
		}
		records = append(records, r)
	}
	acks := newAcks(len(records))
	for i, r := range records {
		s.cl.Produce(ctx, r, func(_ *kgo.Record, err error) { acks.set(i, err) })
	}
	errs := acks.wait(ctx, s.cl)
	for i, err := range errs {
		if err == nil {
			continue
		}
		if c := choiceOf(records[i]); c != nil && c.outOf.Load() > 0 {
			return written(i, sdk.Permanent(fmt.Errorf("kafka-sink: not written: the %s header names partition %d, and topic %q has %d", headerPartitionKey, records[i].Partition, records[i].Topic, c.outOf.Load())))
		}
		return written(i, s.failure(ctx, err))
	}
	if refused != nil {
		return sdk.Partial(len(records), refused)
	}
	return nil
}

// acks collects the produce acknowledgements of one Write's records.
type acks struct {
	mu   sync.Mutex
	errs []error
	got  []bool
	left int
	done chan struct{} // closed once every record has its acknowledgement
}

// errUnacknowledged stands for the acknowledgement of a record that had
// none within deliveryTimeout.
var errUnacknowledged = fmt.Errorf("no acknowledgement in time: %w", context.DeadlineExceeded)

func newAcks(n int) *acks {
	a := &acks{errs: make([]error, n), got: make([]bool, n), left: n, done: make(chan struct{})}
	if n == 0 {
		close(a.done)
	}
	return a
}

func (a *acks) set(i int, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.errs[i], a.got[i] = err, true
	if a.left--; a.left == 0 {
		close(a.done)
	}
}

// wait returns each record's acknowledgement once all came, or when ctx
// ends: then the client's buffered records are aborted (they fail, and
// the host sends them again), and a record still without one counts as
// not written.
func (a *acks) wait(ctx context.Context, cl *kgo.Client) []error {
	select {
	case <-a.done:
	case <-ctx.Done():
		abortCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = cl.AbortBufferedRecords(abortCtx) // records in flight keep their own outcome
		cancel()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]error, len(a.errs))
	for i, err := range a.errs {
		out[i] = err
		if !a.got[i] {
			out[i] = errUnacknowledged
		}
	}
	return out
}

// written is err with the count of records written before it.
func written(i int, err error) error {
	if i == 0 {
		return err
	}
	return sdk.Partial(i, err)
}

// failure words a record's produce error: permanent when Kafka says
// retrying cannot help, "cannot reach" when no broker answers now.
func (s *sink) failure(ctx context.Context, err error) error {
	var ke *kerr.Error
	if errors.As(err, &ke) && !ke.Retriable {
		return sdk.Permanent(fmt.Errorf("kafka-sink: not written: %w", err))
	}
	if errors.Is(err, kgo.ErrRecordTimeout) || errors.Is(err, kgo.ErrRecordRetries) || errors.Is(err, context.DeadlineExceeded) {
		pingCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if perr := reach(pingCtx, "kafka-sink", s.cl, s.seeds); perr != nil {
			return perr
		}
	}
	return fmt.Errorf("kafka-sink: not written: %w", err)
}

// record is the record an event becomes (its topic empty for the default).
func record(ctx context.Context, ev sdk.Event) (*kgo.Record, error) {
	r := &kgo.Record{Value: ev.Body, Headers: recordHeaders(ev.Headers)}
	if r.Value == nil {
		r.Value = []byte{}
	}
	if t, ok := ev.Headers[headerOverrideTopic]; ok {
		if !isTopicName(t) {
			return nil, fmt.Errorf("the %s header is not a Kafka topic name", headerOverrideTopic)
		}
		r.Topic = t
	}
	if k, ok := ev.Headers[headerKey]; ok {
		r.Key = []byte(k)
		switch ev.Headers[headerKeyEncoding] {
		case "":
		case "base64":
			key, err := base64.StdEncoding.DecodeString(k)
			if err != nil {
				return nil, fmt.Errorf("the %s header is not base64, as %s says", headerKey, headerKeyEncoding)
			}
			r.Key = key
		default:
			return nil, fmt.Errorf("the %s header must be base64 or absent", headerKeyEncoding)
		}
	}
	if pk, ok := ev.Headers[headerPartitionKey]; ok {
		p, err := strconv.ParseInt(strings.TrimSpace(pk), 10, 32)
		if err != nil || p < 0 {
			return nil, fmt.Errorf("the %s header must be a partition number", headerPartitionKey)
		}
		r.Partition = int32(p)
		r.Context = context.WithValue(ctx, explicitPartition{}, new(choice))
	}
	return r, nil
}

// explicitPartition marks, in a record's Context, a record whose Partition
// was set from kafka.PARTITION_KEY; its value is the *choice.
type explicitPartition struct{}

// choice is what the partitioner found of an explicit partition: the
// number of partitions of the topic when the partition is not one of them.
type choice struct{ outOf atomic.Int64 }

func choiceOf(r *kgo.Record) *choice {
	if r.Context == nil {
		return nil
	}
	c, _ := r.Context.Value(explicitPartition{}).(*choice)
	return c
}

// partitioner sends a record with kafka.PARTITION_KEY to that partition
// (a partition the topic does not have fails the record, for good), and
// any other as its fallback does (by key, sticky when there is none).
type partitioner struct{ fallback kgo.Partitioner }

func (p partitioner) ForTopic(topic string) kgo.TopicPartitioner {
	return topicPartitioner{p.fallback.ForTopic(topic)}
}

type topicPartitioner struct{ fallback kgo.TopicPartitioner }

func (p topicPartitioner) RequiresConsistency(r *kgo.Record) bool {
	return choiceOf(r) != nil || p.fallback.RequiresConsistency(r)
}

func (p topicPartitioner) Partition(r *kgo.Record, n int) int {
	if c := choiceOf(r); c != nil {
		if int(r.Partition) >= n {
			c.outOf.Store(int64(n)) // the client fails the record
		}
		return int(r.Partition)
	}
	return p.fallback.Partition(r, n)
}

// OnNewBatch lets a sticky fallback move on to another partition.
func (p topicPartitioner) OnNewBatch() {
	if nb, ok := p.fallback.(kgo.TopicPartitionerOnNewBatch); ok {
		nb.OnNewBatch()
	}
}

// Close closes the client; every Write has already waited for its records.
func (s *sink) Close() error {
	s.cl.Close()
	return nil
}
