package plugins

import (
	"errors"
	"sync"
)

// ErrHostClosed is returned when an instance is opened or run through a
// closed host.
var ErrHostClosed = errors.New("the connector host is closed")

// instanceSet counts the goroutines of the instances opened through a host,
// so that Host.Close can wait for them. Invariant: after close, add fails,
// so wait never races with a new instance.
type instanceSet struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// add registers one running instance goroutine; it must call the returned
// function when it returns.
func (s *instanceSet) add() (done func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrHostClosed
	}
	s.wg.Add(1)
	return s.wg.Done, nil
}

// wait refuses new instances and waits for the running ones.
func (s *instanceSet) wait() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.wg.Wait()
}
