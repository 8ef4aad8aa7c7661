package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// SourceKind declares kafka-source.
var SourceKind = sdk.SourceKind{
	Name:        "kafka-source",
	Kamelet:     "kafka-source",
	Description: "Receive data from Kafka topics. Each record becomes one event; its offset is committed only once the event is done end to end (the highest contiguous done offset of each partition), so after a crash or a restart nothing that was not done is lost.",
	Events:      "the value of each record, as a string (text) or bytes, with the kafka.* headers and the record's own headers",
	Params: append(commonParams("source"),
		sdk.Param{Name: "autoCommitEnable", Type: sdk.Boolean, Default: true, Description: "If true, the offsets of the events done are committed in the background every second (and when partitions are revoked or the source stops); if false, as soon as an event is done."},
		sdk.Param{Name: "allowManualCommit", Type: sdk.Boolean, Default: false, Description: "Accepted as in the Kamelet; in Rayvens an event's end-to-end outcome is its commit, so there is nothing to commit by hand."},
		sdk.Param{Name: "pollOnError", Type: sdk.String, Default: "ERROR_HANDLER", Check: sdk.OneOf("DISCARD", "ERROR_HANDLER", "RECONNECT", "RETRY", "STOP"), Description: "What to do if Kafka reports an error while polling: STOP ends the source with the error; DISCARD, ERROR_HANDLER, RECONNECT and RETRY log it and go on polling (the client reconnects and retries by itself)."},
		sdk.Param{Name: "autoOffsetReset", Type: sdk.String, Default: "latest", Check: sdk.OneOf("latest", "earliest", "none"), Description: "Where to start in a partition with no committed offset, or whose committed offset is gone (its records deleted): latest (only new records) or earliest (from the first record); none makes a gone offset an error of the partition, logged (or the end of the source with pollOnError STOP), and starts a partition with no committed offset from its first record, as franz-go's NoResetOffset does."},
		sdk.Param{Name: "consumerGroup", Type: sdk.String, Description: "A string that uniquely identifies the group of consumers to which this source belongs. Offsets are committed to it; without it nothing is committed and each start begins at autoOffsetReset."},
		sdk.Param{Name: "deserializeHeaders", Type: sdk.Boolean, Default: true, Description: "If true, record header values are passed as text (base64 when they are not UTF-8); if false, every value is base64. The encoded ones are named in the kafka.BASE64_HEADERS header."},
		sdk.Param{Name: "topicIsPattern", Type: sdk.Boolean, Default: false, Description: "Whether the topic is a pattern (regular expression). This can be used to subscribe to dynamic number of topics matching the pattern."},
	),
	New: newSource,
}

// sessionTimeout is the group session timeout of kafka-source.
const sessionTimeout = 10 * time.Second

// commitEvery is how often autoCommitEnable commits what is done.
const commitEvery = time.Second

// source is one kafka-source instance. Run owns the poll loop and the
// committer it starts; the Ack callbacks (the SDK's goroutines) and the
// client's rebalance callbacks share parts with them under mu.
type source struct {
	cl         *kgo.Client
	seeds      []string
	log        *slog.Logger
	group      bool
	autoCommit bool
	stopOnErr  bool
	raw        bool

	mu    sync.Mutex
	parts map[partition]*partitionLog
	kick  chan struct{} // a commit is due (autoCommitEnable=false)
}

// partition names one partition of one topic.
type partition struct {
	topic string
	id    int32
}

func (p partition) String() string { return fmt.Sprintf("%s[%d]", p.topic, p.id) }

func newSource(cfg sdk.Config, log *slog.Logger) (sdk.Source, error) {
	const kind = "kafka-source"
	seeds, opts, err := clientOpts(kind, cfg)
	if err != nil {
		return nil, err
	}
	topics, err := sourceTopics(cfg)
	if err != nil {
		return nil, err
	}
	opts = append(opts, kgo.ConsumeTopics(topics...))
	if cfg.Bool("topicIsPattern") {
		opts = append(opts, kgo.ConsumeRegex())
	}
	switch cfg.String("autoOffsetReset") {
	case "latest":
		opts = append(opts, kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()))
	case "earliest":
		opts = append(opts, kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	case "none":
		opts = append(opts, kgo.ConsumeResetOffset(kgo.NoResetOffset()))
	default:
		return nil, fmt.Errorf("%s: autoOffsetReset must be latest, earliest or none", kind)
	}
	switch cfg.String("pollOnError") {
	case "DISCARD", "ERROR_HANDLER", "RECONNECT", "RETRY", "STOP":
	default:
		return nil, fmt.Errorf("%s: pollOnError must be one of DISCARD, ERROR_HANDLER, RECONNECT, RETRY or STOP", kind)
	}
	s := &source{
		seeds:      seeds,
		log:        log,
		autoCommit: cfg.Bool("autoCommitEnable"),
		stopOnErr:  cfg.String("pollOnError") == "STOP",
		raw:        !cfg.Bool("deserializeHeaders"),
		parts:      map[partition]*partitionLog{},
		kick:       make(chan struct{}, 1),
	}
	if group := cfg.String("consumerGroup"); group != "" {
		s.group = true
		opts = append(opts,
			kgo.ConsumerGroup(group),
			// A member that died (SIGKILL) keeps its partitions until its
			// session times out: 10 s, not Kafka's 45, so that a restarted
			// source resumes soon.
			kgo.SessionTimeout(sessionTimeout),
			kgo.DisableAutoCommit(), // offsets are committed for done events only
			kgo.OnPartitionsAssigned(s.assigned),
			kgo.OnPartitionsRevoked(s.revoked),
			kgo.OnPartitionsLost(s.lost),
		)
	} else {
		log.Warn("kafka-source: no consumerGroup, so no offset is committed: each start begins at autoOffsetReset, and what was not done before a stop is not read again")
	}
	if s.cl, err = kgo.NewClient(opts...); err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	return s, nil
}

// sourceTopics are the topics (or patterns) of the topic parameter.
func sourceTopics(cfg sdk.Config) ([]string, error) {
	var topics []string
	for _, t := range strings.Split(cfg.String("topic"), ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if cfg.Bool("topicIsPattern") {
			if _, err := regexp.Compile(t); err != nil {
				return nil, fmt.Errorf("kafka-source: topic: not a regular expression: %w", err)
			}
		} else if !isTopicName(t) {
			return nil, fmt.Errorf("kafka-source: topic: a Kafka topic name is 1 to 249 letters, digits, '.', '_' or '-'")
		}
		topics = append(topics, t)
	}
	if len(topics) == 0 {
		return nil, fmt.Errorf("kafka-source: topic: no topic given")
	}
	return topics, nil
}

// Run waits until a broker answers, then polls records and emits them
// until ctx ends. The client reconnects by itself when brokers go away.
func (s *source) Run(ctx context.Context, emit sdk.Emit) error {
	if !s.waitForBrokers(ctx) {
		return nil
	}
	var wg sync.WaitGroup
	committerCtx, stopCommitter := context.WithCancel(context.Background())
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.committer(committerCtx)
	}()
	defer func() {
		stopCommitter()
		wg.Wait()
	}()

	quiet := newPause()
	for {
		fetches := s.cl.PollFetches(ctx)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return nil
		}
		for _, fe := range fetches.Errors() {
			if errors.Is(fe.Err, context.Canceled) {
				continue
			}
			err := fmt.Errorf("kafka-source: polling %s: %w", partition{fe.Topic, fe.Partition}, fe.Err)
			if s.stopOnErr {
				return err
			}
			s.log.Warn(err.Error())
		}
		if fetches.NumRecords() == 0 {
			if len(fetches.Errors()) > 0 && !quiet.wait(ctx) { // no busy loop on a failing poll
				return nil
			}
			continue
		}
		quiet.reset()
		for it := fetches.RecordIter(); !it.Done(); {
			r := it.Next()
			if !s.track(r) {
				continue
			}
			ev := s.event(r)
			if err := emit(ctx, ev); err != nil {
				ev.Ack(err) // not taken: the SDK will not call it
				return nil  // emit fails only when ctx ends or the instance closes: both mean stop
			}
		}
	}
}

// waitForBrokers pings the cluster until a broker answers, saying each
// time it cannot reach one, with backoff. It returns false when ctx ends.
func (s *source) waitForBrokers(ctx context.Context) bool {
	p := newPause()
	for {
		pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := reach(pingCtx, "kafka-source", s.cl, s.seeds)
		cancel()
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		s.log.Warn(err.Error() + "; trying again")
		if !p.wait(ctx) {
			return false
		}
	}
}

// track adds r to its partition's log and reports whether to emit it: not
// when its partition was revoked (its new owner reads it), nor when it is
// not after the last record emitted (a fetch from before a reassignment).
func (s *source) track(r *kgo.Record) bool {
	if !s.group {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := partition{r.Topic, r.Partition}
	p := s.parts[key]
	if p == nil {
		p = newPartitionLog()
		s.parts[key] = p
	}
	if p.revoked {
		return false
	}
	if n := len(p.pending); n > 0 && p.pending[n-1].offset >= r.Offset || p.commit.Offset > r.Offset {
		return false
	}
	p.add(r.Offset, r.LeaderEpoch)
	return true
}

// event is the event r becomes, its Ack committing r's offset when done.
func (s *source) event(r *kgo.Record) sdk.Event {
	headers, skipped := eventHeaders(r, s.raw)
	if skipped > 0 {
		s.log.Warn("kafka-source: record headers left out: their names are not UTF-8 text, or start with kafka.", "record", fmt.Sprintf("%s@%d", partition{r.Topic, r.Partition}, r.Offset), "headers", skipped)
	}
	ct := "text/plain"
	if !utf8.Valid(r.Value) {
		ct = "application/octet-stream"
	}
	key := partition{r.Topic, r.Partition}
	offset := r.Offset
	s.mu.Lock()
	p := s.parts[key] // this log, not a later one of the same partition
	s.mu.Unlock()
	return sdk.Event{Body: r.Value, ContentType: ct, Headers: headers, Ack: func(err error) {
		if err != nil {
			if sdk.IsFailed(err) {
				s.log.Warn("kafka-source: an event failed; its offset, and every later one of its partition, stay uncommitted: they are read again after a restart or a rebalance", "record", fmt.Sprintf("%s@%d", key, offset), "error", err.Error())
			}
			return
		}
		if p == nil {
			return // no consumer group: nothing to commit
		}
		s.mu.Lock()
		moved := p.ack(offset)
		s.mu.Unlock()
		if moved && !s.autoCommit {
			select {
			case s.kick <- struct{}{}:
			default:
			}
		}
	}}
}

// committer commits what is done: every commitEvery, or at each kick when
// autoCommitEnable is off, until ctx ends.
func (s *source) committer(ctx context.Context) {
	if !s.group {
		return
	}
	tick := time.NewTicker(commitEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.kick:
			if s.autoCommit {
				continue
			}
		}
		s.commit(ctx, nil)
	}
}

// commit commits the done offsets of the partitions given (all when nil)
// that moved since their last commit. A commit that fails is tried again
// at the next one.
func (s *source) commit(ctx context.Context, only map[string][]int32) {
	offsets := map[string]map[int32]kgo.EpochOffset{}
	logs := map[partition]*partitionLog{}
	s.mu.Lock()
	for key, p := range s.parts {
		if !p.dirty || p.revoked || only != nil && !contains(only[key.topic], key.id) {
			continue
		}
		if offsets[key.topic] == nil {
			offsets[key.topic] = map[int32]kgo.EpochOffset{}
		}
		offsets[key.topic][key.id] = p.commit
		p.dirty = false
		logs[key] = p
	}
	s.mu.Unlock()
	if len(offsets) == 0 {
		return
	}
	s.cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		failed := commitErrors(logs, resp, err)
		if len(failed) == 0 {
			s.log.Debug("kafka-source: committed", "partitions", len(logs))
			return
		}
		s.mu.Lock()
		for key := range failed {
			if p := logs[key]; p != nil {
				p.dirty = true
			}
		}
		s.mu.Unlock()
		for key, err := range failed {
			s.log.Warn("kafka-source: cannot commit the offset of "+key.String()+"; trying again", "error", err.Error())
		}
	})
}

// commitErrors are the partitions a commit failed for, with the reason.
func commitErrors(tried map[partition]*partitionLog, resp *kmsg.OffsetCommitResponse, err error) map[partition]error {
	failed := map[partition]error{}
	if resp == nil || len(resp.Topics) == 0 {
		if err != nil {
			for key := range tried {
				failed[key] = err
			}
		}
		return failed
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if perr := kerr.ErrorForCode(p.ErrorCode); perr != nil {
				failed[partition{t.Topic, p.Partition}] = perr
			} else if err != nil {
				failed[partition{t.Topic, p.Partition}] = err
			}
		}
	}
	return failed
}

func contains(ids []int32, id int32) bool {
	for _, i := range ids {
		if i == id {
			return true
		}
	}
	return false
}

// assigned starts a new log for each partition given to this source.
func (s *source) assigned(_ context.Context, _ *kgo.Client, parts map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for topic, ids := range parts {
		for _, id := range ids {
			s.parts[partition{topic, id}] = newPartitionLog()
		}
	}
}

// revoked commits what is done in the partitions taken away, then stops
// tracking them: acks that come later for their events are ignored (their
// new owner reads those records again).
func (s *source) revoked(ctx context.Context, _ *kgo.Client, parts map[string][]int32) {
	s.commit(ctx, parts)
	s.drop(parts)
}

// lost stops tracking partitions without committing: the group already
// gave them to another consumer.
func (s *source) lost(_ context.Context, _ *kgo.Client, parts map[string][]int32) { s.drop(parts) }

func (s *source) drop(parts map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for topic, ids := range parts {
		for _, id := range ids {
			if p := s.parts[partition{topic, id}]; p != nil {
				p.revoked = true
			}
		}
	}
}

// Close commits what is done, then leaves the group and closes the client.
func (s *source) Close() error {
	if s.group {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.commit(ctx, nil)
		cancel()
	}
	s.cl.Close()
	return nil
}

// pause is an exponential backoff, 100 ms doubling up to 5 s.
type pause struct{ next time.Duration }

func newPause() *pause { return &pause{next: 100 * time.Millisecond} }

func (p *pause) reset() { p.next = 100 * time.Millisecond }

// wait sleeps the next pause, or until ctx ends (then false).
func (p *pause) wait(ctx context.Context) bool {
	t := time.NewTimer(p.next)
	defer t.Stop()
	p.next = min(2*p.next, 5*time.Second)
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
