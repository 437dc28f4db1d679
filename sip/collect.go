package sip

import (
	"errors"
	"strings"
	"time"

	"github.com/dialroom/dialroom/dialplan"
	"github.com/dialroom/dialroom/media"
)

// Access numbers: a collect route (dialplan.ActionCollect) answers, asks for
// the conference's number and collects it by RFC 4733 keys, then routes what
// was keyed as a new call (Collected: true) and joins that lobby.

// errNoValidNumber ends a call whose every attempt at keying a number failed.
var errNoValidNumber = errors.New("no valid number keyed")

// promptLimit bounds the wait for a finite prompt to finish beyond its own
// length, in case the clock stops ticking (engine shutting down).
const promptLimit = 5 * time.Second

// collectNumber runs the access-number dialogue on the call's goroutine
// after the answer. It returns true with c.number set when a live number
// was keyed; false when the call ended meanwhile (the context's cause says
// why) or every attempt failed (then the goodbye has started).
//
// The question is c.prompt (the collect decision's); once a number is
// accepted c.prompt becomes the conference route's waiting prompt.
func (c *call) collectNumber(col *dialplan.Collect, route dialplan.Call) bool {
	question := c.prompt
	for attempt := 0; attempt <= col.Retries; attempt++ {
		digits, ok := c.readDigits(col, question)
		if !ok {
			return false
		}
		if digits != "" {
			route.To, route.Collected = digits, true
			d := c.srv.cfg.Plan().Route(route)
			if d.Action == dialplan.ActionConference {
				num, opName, err := c.srv.lookupLive(c.ctx, d.Number)
				if err == nil {
					c.number, c.opName, c.rule, c.prompt = num, opName, d.Rule, d.Prompt
					c.record.Number, c.record.Operator = num.Digits, num.Operator
					if d.Rule != nil {
						c.record.Rule = d.Rule.Name
					}
					c.log.Info("sip: number collected", "decision", d.String())
					return true
				}
			}
			c.log.Info("sip: invalid number keyed", "decision", d.String())
		}
		if attempt < col.Retries {
			src, dur := c.srv.prompts.source(col.InvalidPrompt, dialplan.PromptInvalidNumber, false)
			if !c.playAndWait(src, dur) {
				return false
			}
		}
	}
	c.startGoodbye(errNoValidNumber)
	return false
}

// readDigits plays the question and collects one attempt: up to
// col.Digits keys, ended early by the terminator or by a pause. False when
// the call ended.
func (c *call) readDigits(col *dialplan.Collect, question *dialplan.Prompt) (string, bool) {
	var b strings.Builder
	src, dur := c.srv.prompts.source(question, dialplan.PromptEnterNumber, false)
	c.leg.play(src, func() { c.post(promptDone{}) })
	// The first-digit timer starts when the question ends (promptDone);
	// until then only its length and promptLimit run.
	timer := time.NewTimer(dur + promptLimit)
	defer timer.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return "", false
		case <-timer.C:
			c.leg.play(nil, nil)
			return b.String(), true
		case <-c.wake:
		}
		msgs := c.takeInbox()
		for i, m := range msgs {
			switch m := m.(type) {
			case byeReceived:
				c.cancel(errCallerHungUp)
				return "", false
			case rtpTimedOut:
				c.cancel(errRTPTimeout)
				return "", false
			case reoffer:
				c.applyOffer(m.offer)
			case promptDone:
				if b.Len() == 0 {
					timer.Reset(col.FirstDigitTimeout)
				}
			case keyPressed:
				c.leg.play(nil, nil) // barge-in: a key stops the question
				done := col.Terminator != "" && string(m.key) == col.Terminator
				if !done {
					b.WriteByte(m.key)
					done = b.Len() >= col.Digits
				}
				if done {
					c.requeue(msgs[i+1:]) // a BYE right behind the last key still counts
					return b.String(), true
				}
				timer.Reset(col.InterDigitTimeout)
			}
		}
	}
}

// playAndWait plays a finite prompt of length dur to the end; false when
// the call ended.
func (c *call) playAndWait(src media.Source, dur time.Duration) bool {
	c.leg.play(src, func() { c.post(promptDone{}) })
	limit := time.NewTimer(dur + promptLimit)
	defer limit.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return false
		case <-limit.C:
			return true
		case <-c.wake:
		}
		msgs := c.takeInbox()
		for i, m := range msgs {
			switch m.(type) {
			case byeReceived:
				c.cancel(errCallerHungUp)
				return false
			case promptDone:
				c.requeue(msgs[i+1:])
				return true
			}
		}
	}
}
