package backup

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestErrorShapes(t *testing.T) {
	t.Parallel()
	err := error(&Error{Op: "copy a.vma.zst to backups", Message: "sha-256 differs", Err: ErrVerify})
	assert.True(t, errors.Is(err, ErrVerify))
	assert.Equal(t, "backup: copy a.vma.zst to backups: sha-256 differs: verification failed", err.Error())
	var be *Error
	assert.True(t, errors.As(err, &be))
	assert.Equal(t, "backup: rclone copy: exit status 7 (exit 7)", (&Error{Op: "rclone copy", Message: "exit status 7", Code: "exit 7"}).Error())
	assert.Equal(t, "backup: failed", (&Error{}).Error())
}
