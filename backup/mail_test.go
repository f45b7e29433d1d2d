package backup

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/internal/fakeserver"
	"github.com/thehomelab/homelab/secret"
)

// smtpServer is a small SMTP server on 127.0.0.1 (RFC 5321 replies, RFC
// 3207 STARTTLS, RFC 4954 AUTH PLAIN) that records what it accepted.
type smtpServer struct {
	l        net.Listener
	cert     tls.Certificate
	fp       string
	implicit bool // TLS from the first byte
	startTLS bool // offer STARTTLS
	user     string
	pass     string
	dropOn   string // close the connection without a reply on this verb
	silent   bool   // never send the greeting

	mu       sync.Mutex
	messages []smtpMessage
	authTLS  []bool
	verbs    []string
	wg       sync.WaitGroup
}

type smtpMessage struct {
	From string
	To   []string
	Data string
}

func startSMTP(t *testing.T, configure func(*smtpServer)) *smtpServer {
	t.Helper()
	cert, fp, err := fakeserver.SelfSigned()
	require.NoError(t, err)
	s := &smtpServer{cert: cert, fp: fp, startTLS: true, user: "backup", pass: "mail-s3cret"}
	if configure != nil {
		configure(s)
	}
	s.l, err = net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := s.l.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.serve(c) }()
		}
	}()
	t.Cleanup(func() { _ = s.l.Close(); s.wg.Wait() })
	return s
}

func (s *smtpServer) addr() string { return s.l.Addr().String() }

func (s *smtpServer) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.cert.Leaf)
	return p
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	isTLS := false
	if s.implicit {
		c = tls.Server(c, &tls.Config{Certificates: []tls.Certificate{s.cert}})
		isTLS = true
	}
	if s.silent {
		_, _ = io.Copy(io.Discard, c)
		return
	}
	tp := textproto.NewConn(c)
	_ = tp.PrintfLine("220 fake ESMTP")
	var msg smtpMessage
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		s.mu.Lock()
		s.verbs = append(s.verbs, verb)
		s.mu.Unlock()
		if verb == s.dropOn {
			return
		}
		switch verb {
		case "EHLO":
			_ = tp.PrintfLine("250-fake")
			if s.startTLS && !isTLS {
				_ = tp.PrintfLine("250-STARTTLS")
			}
			_ = tp.PrintfLine("250-AUTH PLAIN")
			_ = tp.PrintfLine("250 8BITMIME")
		case "STARTTLS":
			_ = tp.PrintfLine("220 go ahead")
			c = tls.Server(c, &tls.Config{Certificates: []tls.Certificate{s.cert}})
			tp = textproto.NewConn(c)
			isTLS = true
		case "AUTH":
			f := strings.Fields(line)
			raw, _ := base64.StdEncoding.DecodeString(f[len(f)-1])
			s.mu.Lock()
			s.authTLS = append(s.authTLS, isTLS)
			s.mu.Unlock()
			if string(raw) == "\x00"+s.user+"\x00"+s.pass {
				_ = tp.PrintfLine("235 2.7.0 Authentication successful")
			} else {
				_ = tp.PrintfLine("535 5.7.8 Authentication credentials invalid")
			}
		case "MAIL":
			msg = smtpMessage{From: smtpArg(line, "<", ">")}
			_ = tp.PrintfLine("250 ok")
		case "RCPT":
			msg.To = append(msg.To, smtpArg(line, "<", ">"))
			_ = tp.PrintfLine("250 ok")
		case "DATA":
			_ = tp.PrintfLine("354 go on")
			lines, err := tp.ReadDotLines()
			if err != nil {
				return
			}
			if s.dropOn == "." {
				return
			}
			msg.Data = strings.Join(lines, "\n")
			s.mu.Lock()
			s.messages = append(s.messages, msg)
			s.mu.Unlock()
			_ = tp.PrintfLine("250 queued")
		case "QUIT":
			_ = tp.PrintfLine("221 bye")
			return
		default:
			_ = tp.PrintfLine("250 ok")
		}
	}
}

func smtpArg(s, a, b string) string {
	_, rest, _ := strings.Cut(s, a)
	in, _, _ := strings.Cut(rest, b)
	return in
}

func (s *smtpServer) got() ([]smtpMessage, []bool, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMessage(nil), s.messages...), append([]bool(nil), s.authTLS...), append([]string(nil), s.verbs...)
}

func (s *smtpServer) notifier() *Notifier {
	return &Notifier{Addr: s.addr(), From: "backup@lab.example", To: []string{"admin@lab.example", "second@lab.example"},
		User: s.user, Password: secret.New(s.pass), Fingerprint: s.fp, Timeout: 5 * time.Second}
}

func bodyOf(t *testing.T, data string) string {
	t.Helper()
	_, body, ok := strings.Cut(data, "\n\n")
	require.True(t, ok)
	b, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
	require.NoError(t, err)
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

func TestNotifierStartTLS(t *testing.T) {
	t.Parallel()
	s := startSMTP(t, nil)
	n := s.notifier()
	body := "backup night: OK\n.a line starting with a dot\nnas 100: 3.2 GiB ✓ " + strings.Repeat("long ", 40) + "\n"
	require.NoError(t, n.Send(t.Context(), "homelab backup: OK ✓", body))

	msgs, authTLS, _ := s.got()
	require.Len(t, msgs, 1)
	assert.Equal(t, []bool{true}, authTLS, "AUTH only after STARTTLS")
	assert.Equal(t, "backup@lab.example", msgs[0].From)
	assert.Equal(t, []string{"admin@lab.example", "second@lab.example"}, msgs[0].To)
	assert.Contains(t, msgs[0].Data, "Subject: =?utf-8?q?homelab_backup:_OK_=E2=9C=93?=")
	assert.Contains(t, msgs[0].Data, "To: admin@lab.example, second@lab.example")
	// ReadDotLines drops the last line break.
	assert.Equal(t, strings.TrimSuffix(body, "\n"), bodyOf(t, msgs[0].Data))
}

func TestNotifierImplicitTLS(t *testing.T) {
	t.Parallel()
	s := startSMTP(t, func(s *smtpServer) { s.implicit = true })
	n := s.notifier()
	n.Security = SMTPImplicitTLS
	n.Fingerprint, n.RootCAs = "", s.pool()
	require.NoError(t, n.Send(t.Context(), "homelab backup: FAILED", "nas: verification failed\n"))
	msgs, authTLS, _ := s.got()
	require.Len(t, msgs, 1)
	assert.Equal(t, []bool{true}, authTLS)

	// Without the roots the self-signed certificate does not verify.
	n.RootCAs = nil
	err := n.Send(t.Context(), "x", "y")
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.ErrorContains(t, err, "certificate")
}

func TestNotifierRefusals(t *testing.T) {
	t.Parallel()
	ctx := t.Context()

	t.Run("auth refused", func(t *testing.T) {
		t.Parallel()
		s := startSMTP(t, nil)
		n := s.notifier()
		n.Password = secret.New("wrong-mail-password")
		err := n.Send(ctx, "s", "b")
		require.ErrorIs(t, err, ErrAuth)
		var e *Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, "535", e.Code)
		var te *textproto.Error
		assert.ErrorAs(t, err, &te)
		assert.NotContains(t, fmt.Sprintf("%v %+v %#v", err, err, err), "wrong-mail-password")
		msgs, _, _ := s.got()
		assert.Empty(t, msgs)
	})

	t.Run("tls required", func(t *testing.T) {
		t.Parallel()
		s := startSMTP(t, func(s *smtpServer) { s.startTLS = false })
		err := s.notifier().Send(ctx, "s", "b")
		require.ErrorIs(t, err, ErrUnavailable)
		assert.ErrorContains(t, err, "STARTTLS")
		_, authTLS, verbs := s.got()
		assert.Empty(t, authTLS, "no credential crossed in clear")
		assert.NotContains(t, verbs, "MAIL")
	})

	t.Run("wrong pin", func(t *testing.T) {
		t.Parallel()
		s := startSMTP(t, nil)
		n := s.notifier()
		other, otherFP, err := fakeserver.SelfSigned()
		require.NoError(t, err)
		_ = other
		n.Fingerprint = otherFP
		err = n.Send(ctx, "s", "b")
		require.ErrorIs(t, err, ErrUnavailable)
		var mm *FingerprintMismatchError
		require.ErrorAs(t, err, &mm)
		assert.Equal(t, s.fp, mm.Got)
		_, authTLS, _ := s.got()
		assert.Empty(t, authTLS)
	})

	for _, verb := range []string{"EHLO", "MAIL", "."} {
		t.Run("dropped at "+verb, func(t *testing.T) {
			t.Parallel()
			s := startSMTP(t, func(s *smtpServer) { s.dropOn = verb })
			err := s.notifier().Send(ctx, "s", "b")
			require.ErrorIs(t, err, ErrUnavailable)
			msgs, _, _ := s.got()
			assert.Empty(t, msgs)
		})
	}

	t.Run("silent server", func(t *testing.T) {
		t.Parallel()
		s := startSMTP(t, func(s *smtpServer) { s.silent = true })
		cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := s.notifier().Send(cctx, "s", "b")
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, time.Since(start), 3*time.Second)
	})
}

func TestNotifierPlainLoopback(t *testing.T) {
	t.Parallel()
	s := startSMTP(t, func(s *smtpServer) { s.startTLS = false })
	n := &Notifier{Addr: s.addr(), From: "root@pve.lab", To: []string{"admin@lab.example"}, Security: SMTPPlainLoopback}
	require.NoError(t, n.Send(t.Context(), "ups: on battery", "since 03:12\n"))
	msgs, _, _ := s.got()
	require.Len(t, msgs, 1)

	n.Addr = "mail.example.com"
	err := n.Send(t.Context(), "s", "b")
	assert.ErrorIs(t, err, ErrInvalid)
	assert.ErrorContains(t, err, "loopback")
}

func TestNotifierInvalid(t *testing.T) {
	t.Parallel()
	ok := Notifier{Addr: "127.0.0.1:1", From: "a@b.c", To: []string{"d@e.f"}}
	for name, mut := range map[string]func(*Notifier){
		"no addr":      func(n *Notifier) { n.Addr = "" },
		"no recipient": func(n *Notifier) { n.To = nil },
		"bad from":     func(n *Notifier) { n.From = "a@b.c\r\nBcc: x@y.z" },
		"bad to":       func(n *Notifier) { n.To = []string{"<d@e.f>"} },
		"user no pass": func(n *Notifier) { n.User = "u" },
		"pass no user": func(n *Notifier) { n.Password = secret.New("p") },
		"bad pin":      func(n *Notifier) { n.Fingerprint = "md5:00" },
		"unknown mode": func(n *Notifier) { n.Security = 7 },
	} {
		n := ok
		mut(&n)
		assert.ErrorIs(t, n.Send(t.Context(), "s", "b"), ErrInvalid, name)
	}
	n := ok
	assert.ErrorIs(t, n.Send(t.Context(), "injected\r\nBcc: x@y.z", "b"), ErrInvalid)
}

// The message is what a relay expects: CRLF lines, no bare LF.
func TestNotifierMessage(t *testing.T) {
	t.Parallel()
	n := &Notifier{From: "a@lab.example", To: []string{"b@lab.example"}}
	m, err := n.message("s", "one\ntwo\r\nthree")
	require.NoError(t, err)
	sc := bufio.NewScanner(strings.NewReader(string(m)))
	sc.Split(bufio.ScanLines)
	for i := 0; i < len(m); i++ {
		if m[i] == '\n' {
			require.Positive(t, i)
			assert.Equal(t, byte('\r'), m[i-1], "bare LF at %d", i)
		}
	}
	assert.Contains(t, string(m), "Message-ID: <")
	assert.Contains(t, string(m), "@lab.example>")
}

func TestNotifierDefaultPorts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr string
		sec  SMTPSecurity
		want string
	}{
		{"mail.lab.example", SMTPStartTLS, "mail.lab.example:587"},
		{"mail.lab.example", SMTPImplicitTLS, "mail.lab.example:465"},
		{"localhost", SMTPPlainLoopback, "localhost:25"},
		{"::1", SMTPPlainLoopback, "[::1]:25"},
		{"mail.lab.example:2525", SMTPStartTLS, "mail.lab.example:2525"},
	} {
		n := Notifier{Addr: tc.addr, Security: tc.sec, From: "a@b.c", To: []string{"d@e.f"}}
		_, addr, err := n.target()
		require.NoError(t, err, tc.addr)
		assert.Equal(t, tc.want, addr)
	}
}

// A server that never ends its greeting (one endless multi-line 220 reply,
// or one line without an end) costs at most maxSMTPRead: net/textproto
// would read it to the deadline.
func TestNotifierEndlessReply(t *testing.T) {
	t.Parallel()
	for name, chunk := range map[string]string{
		"multi-line": "220-mail.lab.example padding padding padding padding padding\r\n",
		"no newline": "220 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			t.Cleanup(func() { _ = l.Close() })
			go func() {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				if name == "no newline" {
					_, _ = io.WriteString(c, "220")
					chunk = strings.TrimPrefix(chunk, "220 ")
				}
				b := []byte(strings.Repeat(chunk, 512))
				for {
					if _, err := c.Write(b); err != nil {
						return
					}
				}
			}()
			n := &Notifier{Addr: l.Addr().String(), From: "root@pve.lab", To: []string{"admin@lab.example"},
				Security: SMTPPlainLoopback, Timeout: 20 * time.Second}
			start := time.Now()
			err = n.Send(t.Context(), "s", "b")
			assert.ErrorIs(t, err, ErrInvalid)
			assert.ErrorContains(t, err, "replies exceed")
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Less(t, time.Since(start), 10*time.Second)
		})
	}
}
