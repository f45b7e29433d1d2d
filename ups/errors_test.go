package ups_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/thehomelab/homelab/ups"
)

// TestEveryErrCodeHasASentinel walks the complete list of server/neterr.h
// (plus the tracking replies): each ERR code maps to its own sentinel, and
// to its class where it has one.
func TestEveryErrCodeHasASentinel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code     string
		sentinel error
		class    error
	}{
		{"ACCESS-DENIED", ups.ErrAccessDenied, ups.ErrPermission},
		{"UNKNOWN-UPS", ups.ErrUnknownUPS, ups.ErrNotFound},
		{"VAR-NOT-SUPPORTED", ups.ErrVarNotSupported, ups.ErrNotFound},
		{"CMD-NOT-SUPPORTED", ups.ErrCmdNotSupported, ups.ErrNotFound},
		{"INVALID-ARGUMENT", ups.ErrInvalidArgument, nil},
		{"INSTCMD-FAILED", ups.ErrInstCmdFailed, nil},
		{"SET-FAILED", ups.ErrSetFailed, nil},
		{"READONLY", ups.ErrReadOnly, ups.ErrPermission},
		{"TOO-LONG", ups.ErrTooLong, nil},
		{"FEATURE-NOT-SUPPORTED", ups.ErrFeatureNotSupported, nil},
		{"FEATURE-NOT-CONFIGURED", ups.ErrFeatureNotConfigured, nil},
		{"ALREADY-SSL-MODE", ups.ErrAlreadySSLMode, ups.ErrConflict},
		{"DRIVER-NOT-CONNECTED", ups.ErrDriverNotConnected, ups.ErrNoData},
		{"DATA-STALE", ups.ErrDataStale, ups.ErrNoData},
		{"ALREADY-LOGGED-IN", ups.ErrAlreadyLoggedIn, ups.ErrConflict},
		{"INVALID-PASSWORD", ups.ErrInvalidPassword, ups.ErrAuth},
		{"ALREADY-SET-PASSWORD", ups.ErrAlreadySetPassword, ups.ErrConflict},
		{"INVALID-USERNAME", ups.ErrInvalidUsername, ups.ErrAuth},
		{"ALREADY-SET-USERNAME", ups.ErrAlreadySetUsername, ups.ErrConflict},
		{"USERNAME-REQUIRED", ups.ErrUsernameRequired, ups.ErrAuth},
		{"PASSWORD-REQUIRED", ups.ErrPasswordRequired, ups.ErrAuth},
		{"UNKNOWN-COMMAND", ups.ErrUnknownCommand, nil},
		{"INVALID-VALUE", ups.ErrInvalidValue, nil},
		{"VAR-UNKNOWN", ups.ErrVarUnknown, ups.ErrNotFound},
		{"UNKNOWN-TYPE", ups.ErrUnknownType, nil},
		{"UNKNOWN-INSTCMD", ups.ErrUnknownInstCmd, ups.ErrNotFound},
		{"MISSING-ARGUMENT", ups.ErrMissingArgument, nil},
		{"UNKNOWN", ups.ErrTrackingUnknown, ups.ErrNotFound},
		{"FAILED", ups.ErrTrackingFailed, nil},
	}
	seen := map[error]string{}
	for _, tt := range tests {
		err := error(&ups.Error{Op: "op", Code: tt.code})
		assert.ErrorIs(t, err, tt.sentinel, tt.code)
		if tt.class != nil {
			assert.ErrorIs(t, err, tt.class, tt.code)
		}
		if prev, dup := seen[tt.sentinel]; dup {
			t.Errorf("%s and %s share a sentinel", prev, tt.code)
		}
		seen[tt.sentinel] = tt.code
		for _, other := range []error{ups.ErrProtocol, ups.ErrClosed, ups.ErrLineTooLong} {
			assert.False(t, errors.Is(err, other), "%s is not %v", tt.code, other)
		}
		assert.Equal(t, "ups: op: server said "+tt.code, err.Error())
	}
}
