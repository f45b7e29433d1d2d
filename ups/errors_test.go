package ups_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/thehomelab/homelab/ups"
)

// TestEveryErrCodeHasAClass walks the complete list of server/neterr.h
// (plus the tracking replies): each ERR code matches its class sentinel,
// and the four a user acts on their own sentinel too.
func TestEveryErrCodeHasAClass(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code     ups.Code
		sentinel error
		class    error
	}{
		{ups.CodeAccessDenied, ups.ErrAccessDenied, ups.ErrPermission},
		{ups.CodeUnknownUPS, ups.ErrUnknownUPS, ups.ErrNotFound},
		{ups.CodeVarNotSupported, nil, ups.ErrNotFound},
		{ups.CodeCmdNotSupported, nil, ups.ErrNotFound},
		{ups.CodeInvalidArgument, nil, ups.ErrInvalid},
		{ups.CodeInstCmdFailed, nil, ups.ErrUnavailable},
		{ups.CodeSetFailed, nil, ups.ErrUnavailable},
		{ups.CodeReadOnly, nil, ups.ErrPermission},
		{ups.CodeTooLong, nil, ups.ErrInvalid},
		{ups.CodeFeatureNotSupported, nil, ups.ErrUnavailable},
		{ups.CodeFeatureNotConfigured, nil, ups.ErrUnavailable},
		{ups.CodeAlreadySSLMode, nil, ups.ErrConflict},
		{ups.CodeDriverNotConnected, ups.ErrDriverNotConnected, ups.ErrUnavailable},
		{ups.CodeDataStale, ups.ErrDataStale, ups.ErrUnavailable},
		{ups.CodeAlreadyLoggedIn, nil, ups.ErrConflict},
		{ups.CodeInvalidPassword, nil, ups.ErrAuth},
		{ups.CodeAlreadySetPassword, nil, ups.ErrConflict},
		{ups.CodeInvalidUsername, nil, ups.ErrAuth},
		{ups.CodeAlreadySetUsername, nil, ups.ErrConflict},
		{ups.CodeUsernameRequired, nil, ups.ErrAuth},
		{ups.CodePasswordRequired, nil, ups.ErrAuth},
		{ups.CodeUnknownCommand, nil, ups.ErrInvalid},
		{ups.CodeInvalidValue, nil, ups.ErrInvalid},
		{ups.CodeVarUnknown, nil, ups.ErrNotFound},
		{ups.CodeUnknownType, nil, ups.ErrInvalid},
		{ups.CodeUnknownInstCmd, nil, ups.ErrNotFound},
		{ups.CodeMissingArgument, nil, ups.ErrInvalid},
		{ups.CodeTrackingUnknown, nil, ups.ErrNotFound},
		{ups.CodeTrackingFailed, nil, ups.ErrUnavailable},
	}
	classes := []error{ups.ErrNotFound, ups.ErrAuth, ups.ErrPermission, ups.ErrConflict, ups.ErrInvalid, ups.ErrUnavailable, ups.ErrClosed}
	specific := []error{ups.ErrUnknownUPS, ups.ErrDataStale, ups.ErrDriverNotConnected, ups.ErrAccessDenied, ups.ErrTooLarge}
	for _, tt := range tests {
		err := error(&ups.Error{Op: "op", Code: tt.code})
		assert.ErrorIs(t, err, tt.class, tt.code)
		for _, other := range classes {
			if other != tt.class {
				assert.False(t, errors.Is(err, other), "%s is not %v", tt.code, other)
			}
		}
		for _, s := range specific {
			assert.Equal(t, s == tt.sentinel, errors.Is(err, s), "%s and %v", tt.code, s)
		}
		assert.Equal(t, "ups: op: server said "+string(tt.code), err.Error())
	}
}

// TestClientCodes: failures the client detects itself carry lower-case
// codes upsd never sends, and match their class.
func TestClientCodes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		code  ups.Code
		class error
	}{
		{ups.CodeProtocol, ups.ErrUnavailable},
		{ups.CodeTooLarge, ups.ErrUnavailable},
		{ups.CodeClosed, ups.ErrClosed},
		{"", ups.ErrUnavailable},
	} {
		err := error(&ups.Error{Op: "op", Code: tt.code, Message: "m"})
		assert.ErrorIs(t, err, tt.class, tt.code)
		assert.Equal(t, "ups: op: m", err.Error())
	}
	assert.ErrorIs(t, &ups.Error{Code: ups.CodeTooLarge}, ups.ErrTooLarge)
}
