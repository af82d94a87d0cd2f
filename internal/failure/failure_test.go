package failure

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestClassOf_OutermostClassWinsAndUnclassifiedIsTransient(t *testing.T) {
	t.Parallel()
	base := errors.New("boom")
	tests := []struct {
		err  error
		want Class
	}{
		{base, ClassTransient},
		{Permanent(base), ClassPermanent},
		{fmt.Errorf("capture: %w", UnknownOutcome(base)), ClassUnknownOutcome},
		{NotYet(time.Second, base), ClassNotYet},
		{Permanent(Transient(base)), ClassPermanent},
	}
	for _, tt := range tests {
		if got := ClassOf(tt.err); got != tt.want {
			t.Errorf("ClassOf(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
	if !errors.Is(Permanent(base), base) {
		t.Error("a classified error must unwrap to its cause")
	}
	if Transient(nil) != nil || Permanent(nil) != nil || UnknownOutcome(nil) != nil || NotYet(0, nil) != nil {
		t.Error("classifying nil must stay nil")
	}
	if RetryAfter(fmt.Errorf("x: %w", NotYet(3*time.Second, base))) != 3*time.Second || RetryAfter(base) != 0 {
		t.Error("RetryAfter lost the wait")
	}
}
