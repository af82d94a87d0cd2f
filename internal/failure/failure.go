// Package failure names the classes of error the connector's failure policy
// (DESIGN section 5) acts on. Clients classify every failure once, at the
// boundary where it happens (Cleeng client, gateways, decoding); the worker
// runtime maps the class to an action in one place. Nothing else inspects
// error strings.
package failure

import (
	"errors"
	"fmt"
	"time"
)

// Class is what the worker runtime does with an error.
type Class int

const (
	// ClassTransient: network, timeout, 5xx, 429. Redeliver on the schedule;
	// counts towards MaxDeliver.
	ClassTransient Class = iota
	// ClassPermanent: the input or the configuration is wrong, repeating
	// cannot help. Dead-letter with the reason.
	ClassPermanent
	// ClassUnknownOutcome: the call may or may not have taken effect (a
	// timeout after the request was sent). Redeliver; the flow resumes with
	// the same idempotency key, never a new one.
	ClassUnknownOutcome
	// ClassNotYet: a precondition is still in flight (a capture before its
	// authorisation is recorded). Redeliver later without counting towards
	// dead-lettering where possible.
	ClassNotYet
)

func (c Class) String() string {
	switch c {
	case ClassTransient:
		return "transient"
	case ClassPermanent:
		return "permanent"
	case ClassUnknownOutcome:
		return "unknown-outcome"
	case ClassNotYet:
		return "not-yet"
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Error is an error with a class. After, when set, is the earliest time a
// retry makes sense (a NotYet with a known wait, a 429 with Retry-After).
type Error struct {
	Class Class
	After time.Duration
	Err   error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func wrap(c Class, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Class: c, Err: err}
}

// Transient marks err as worth retrying. A nil err stays nil.
func Transient(err error) error { return wrap(ClassTransient, err) }

// Permanent marks err as never worth retrying. A nil err stays nil.
func Permanent(err error) error { return wrap(ClassPermanent, err) }

// UnknownOutcome marks err as a call whose effect is unknown. A nil err stays nil.
func UnknownOutcome(err error) error { return wrap(ClassUnknownOutcome, err) }

// NotYet asks for a retry after at least the given wait (0: the runtime's
// schedule), without counting as a failure.
func NotYet(after time.Duration, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Class: ClassNotYet, After: after, Err: err}
}

// Permanentf is Permanent(fmt.Errorf(format, args...)).
func Permanentf(format string, args ...any) error {
	return Permanent(fmt.Errorf(format, args...))
}

// ClassOf returns the class of the outermost classified error in err's chain.
// An unclassified error is transient: a bug or an unexpected failure is
// retried on the schedule and dead-lettered when attempts run out, rather
// than lost on the first try.
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return ClassTransient
}

// Is reports whether err is classified as c.
func Is(err error, c Class) bool {
	var e *Error
	return errors.As(err, &e) && e.Class == c
}

// RetryAfter returns the wait attached to a classified error, or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.After
	}
	return 0
}
