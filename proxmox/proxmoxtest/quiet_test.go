package proxmoxtest_test

import (
	"bytes"
	"log"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
)

// TestCutHandshakePrintsNothing runs without t.Parallel: it swaps the
// standard logger's output, which parallel tests never run alongside.
func TestCutHandshakePrintsNothing(t *testing.T) {
	var buf bytes.Buffer
	old := log.Writer()
	log.SetOutput(&buf)
	t.Cleanup(func() { log.SetOutput(old) })

	srv := proxmoxtest.NewServer()
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	conn, err := net.Dial("tcp", u.Host)
	require.NoError(t, err)
	_, _ = conn.Write([]byte("not a TLS hello\r\n\r\n"))
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, _ = conn.Read(make([]byte, 64)) // the server answers with an alert or closes
	_ = conn.Close()
	srv.Close() // waits for the handler goroutines, so any log line is written by now
	assert.Empty(t, buf.String(), "a fake must not print")
}
