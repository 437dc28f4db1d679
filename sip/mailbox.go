package sip

import "sync"

// mailbox is the inbox of a call's goroutine (inbound calls and calls we
// place): room events, signalling and media timeouts from other goroutines
// are posted to it and taken by the call's goroutine, which waits on wake.
// Make one with newMailbox; it must not be copied after use.
type mailbox struct {
	mu    sync.Mutex
	inbox []any
	wake  chan struct{} // one slot: a pending wake-up is never lost, never blocks
}

func newMailbox() mailbox { return mailbox{wake: make(chan struct{}, 1)} }

// post queues a message for the call's goroutine; safe from any goroutine,
// never blocks.
func (b *mailbox) post(m any) {
	b.mu.Lock()
	b.inbox = append(b.inbox, m)
	b.mu.Unlock()
	b.signal()
}

// requeue puts messages taken but not handled back at the front of the inbox.
func (b *mailbox) requeue(msgs []any) {
	if len(msgs) == 0 {
		return
	}
	b.mu.Lock()
	b.inbox = append(append([]any(nil), msgs...), b.inbox...)
	b.mu.Unlock()
	b.signal()
}

// takeInbox returns every queued message, oldest first, and empties the inbox.
func (b *mailbox) takeInbox() []any {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.inbox
	b.inbox = nil
	return m
}

func (b *mailbox) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}
