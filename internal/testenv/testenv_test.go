package testenv_test

import (
	"testing"

	"github.com/go-apify/actor/internal/testenv"
)

func TestLong(t *testing.T) {
	tests := []struct {
		value    string
		wantSkip bool
	}{
		{"", true},
		{"0", true},
		{"true", true},
		{"1", false},
	}
	for _, tt := range tests {
		t.Run("ACTOR_LONG_TESTS="+tt.value, func(t *testing.T) {
			t.Setenv(testenv.LongEnv, tt.value)
			skipped := true
			t.Run("inner", func(t *testing.T) {
				testenv.Long(t)
				skipped = false
			})
			if skipped != tt.wantSkip {
				t.Errorf("skipped = %v, want %v", skipped, tt.wantSkip)
			}
		})
	}
}
