package mqtt

import (
	"sync"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// acks sends the PUBACKs of a QoS 1 source, in the order its messages
// came, as MQTT 3.1.1 (4.6) asks: a message is acknowledged once its
// event is done and every message before it is resolved.
//
// Invariant: queue holds, in arrival order, the QoS 1 messages not yet
// acknowledged nor given up; byID indexes those still pending by packet
// id. A message whose event failed, or that the host never took, is given
// up: it leaves the queue without a PUBACK, so that it does not hold back
// the messages after it, and the broker keeps it in the session and sends
// it again when the source next connects (MQTT has no negative ack).
//
// A broker that resends a message after a reconnect (DUP set, the same
// packet id) while its first copy's event is still on its way gets no
// second event: the entry takes the new copy, whose PUBACK goes out on
// the new connection when the first event is done (paho drops a PUBACK
// for a connection that is gone).
type acks struct {
	mu    sync.Mutex
	queue []*pending
	byID  map[uint16]*pending

	sending sync.Mutex // held while PUBACKs go out, so that they keep their order
}

// pending is a message whose PUBACK waits for its event and those before it.
type pending struct {
	msg      paho.Message
	resolved bool
	done     bool // resolved with its event done: acknowledge it
}

func newAcks() *acks { return &acks{byID: map[uint16]*pending{}} }

// add queues msg, and returns its entry and whether it is new: false for
// a resend of a message whose event is still on its way.
func (a *acks) add(msg paho.Message) (*pending, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if p, ok := a.byID[msg.MessageID()]; ok && msg.Duplicate() {
		p.msg = msg
		return p, false
	}
	p := &pending{msg: msg}
	a.queue = append(a.queue, p)
	a.byID[msg.MessageID()] = p
	return p, true
}

// resolve records the outcome of p's event (done or not) and sends the
// PUBACKs that are now due.
func (a *acks) resolve(p *pending, done bool) {
	a.sending.Lock()
	defer a.sending.Unlock()
	a.mu.Lock()
	p.resolved, p.done = true, done
	var due []paho.Message
	for len(a.queue) > 0 && a.queue[0].resolved {
		head := a.queue[0]
		a.queue[0] = nil
		a.queue = a.queue[1:]
		if a.byID[head.msg.MessageID()] == head {
			delete(a.byID, head.msg.MessageID())
		}
		if head.done {
			due = append(due, head.msg)
		}
	}
	a.mu.Unlock()
	for _, msg := range due {
		msg.Ack()
	}
}
