// Package reconcileerr holds the typed errors that decide, in one place, whether a
// reconcile is retried and what the request's phase and conditions say.
package reconcileerr

import (
	"errors"
	"fmt"
	"time"
)

// Kind says how an error ends a reconcile.
type Kind int

const (
	// Conflict: something the request needs is held by someone else. Phase Conflict;
	// retried when claims are released, and slowly as a backstop.
	Conflict Kind = iota + 1
	// Invalid: the request cannot be satisfied as written (reserved name, missing zone,
	// pool exhausted). Phase Failed, Stalled; retried when the request or zone changes.
	Invalid
	// Waiting: progress depends on something outside the operator (a load balancer, a
	// namespace being deleted). Phase stays in progress; retried after RequeueAfter.
	Waiting
)

// Error is a reconcile outcome with a condition reason and a message safe to show.
type Error struct {
	Kind Kind
	// Condition is the condition type the error belongs to (NameAvailable, ...).
	Condition string
	Reason    string
	Message   string
	// RequeueAfter is used by Waiting errors.
	RequeueAfter time.Duration
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Reason, e.Message) }

// NewConflict returns a Conflict error.
func NewConflict(cond, reason, format string, args ...any) *Error {
	return &Error{Kind: Conflict, Condition: cond, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// NewInvalid returns an Invalid error.
func NewInvalid(cond, reason, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Condition: cond, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// NewWaiting returns a Waiting error retried after d.
func NewWaiting(cond, reason string, d time.Duration, format string, args ...any) *Error {
	return &Error{Kind: Waiting, Condition: cond, Reason: reason, RequeueAfter: d, Message: fmt.Sprintf(format, args...)}
}

// As returns the typed error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}
