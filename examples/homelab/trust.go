package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/thehomelab/homelab/examples/internal/command"
	"github.com/thehomelab/homelab/internal/tlspin"
)

// trustTimeout bounds the one connection trust makes.
const trustTimeout = 10 * time.Second

// errRead ends the handshake once the certificate is read: trust sends
// nothing to a server it has not decided to trust.
var errRead = errors.New("certificate read, connection closed by homelab trust")

// runTrust is homelab trust URL|HOST:PORT.
func runTrust(ctx context.Context, args []string, out, errOut io.Writer) int {
	if len(args) == 1 && isHelp(args[0]) {
		trustUsage(out)
		return command.ExitOK
	}
	if len(args) != 1 {
		trustUsage(errOut)
		return command.ExitUsage
	}
	addr, serverName, err := trustTarget(args[0])
	startTLS := strings.HasPrefix(args[0], "nut://")
	if err != nil {
		fmt.Fprintf(errOut, "homelab trust: %v\n", err)
		return command.ExitUsage
	}
	leaf, err := readLeaf(ctx, addr, serverName, startTLS)
	if err != nil {
		fmt.Fprintf(errOut, "homelab trust: %v\n", err)
		return command.ExitUnchecked
	}
	printLeaf(out, addr, leaf, time.Now())
	return command.ExitOK
}

func trustUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: homelab trust https://HOST[:PORT] | nut://HOST[:PORT] | HOST:PORT")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Connects once and prints the TLS certificate the device shows: its fingerprint in the form")
	fmt.Fprintln(w, "fingerprint: (homelab.yaml) and WithFingerprint take, subject, issuer and validity.")
	fmt.Fprintln(w, "Nothing is sent after the handshake. Compare the fingerprint with the device's own screen")
	fmt.Fprintln(w, "(Proxmox: Node > System > Certificates; RouterOS: /certificate print detail) before pinning it.")
	fmt.Fprintln(w, "  homelab trust https://192.168.1.10:8006")
	fmt.Fprintln(w, "  homelab trust 192.168.1.1:8729")
	fmt.Fprintln(w, "  homelab trust nut://192.168.1.10        (upsd: STARTTLS on 3493)")
}

// trustTarget turns the argument into the address to dial and the name to
// send as SNI.
func trustTarget(arg string) (addr, serverName string, err error) {
	if strings.Contains(arg, "://") {
		u, err := url.Parse(arg)
		if err != nil {
			return "", "", err
		}
		def := "443"
		switch u.Scheme {
		case "https":
		case "nut":
			def = "3493"
		case "http":
			return "", "", fmt.Errorf("%s is plain http: there is no certificate to trust", arg)
		default:
			return "", "", fmt.Errorf("%s: want an https:// or nut:// URL, or HOST:PORT", arg)
		}
		host, port := u.Hostname(), u.Port()
		if port == "" {
			port = def
		}
		if host == "" {
			return "", "", fmt.Errorf("%s: no host", arg)
		}
		return net.JoinHostPort(host, port), sni(host), nil
	}
	host, port, err := net.SplitHostPort(arg)
	if err != nil || host == "" || port == "" {
		return "", "", fmt.Errorf("%s: want an https:// URL or HOST:PORT", arg)
	}
	return arg, sni(host), nil
}

// sni is the server name to send: none for an address, as browsers do.
func sni(host string) string {
	if net.ParseIP(host) != nil {
		return ""
	}
	return host
}

// readLeaf connects once and returns the server's leaf certificate. The
// handshake is not verified (verifying is what the user is about to decide)
// but it never completes either: VerifyConnection records the leaf and
// fails, so the client aborts the handshake with an alert and sends no
// application data.
//
// With startTLS (upsd), the connection is plain until the client asks for
// TLS with NUT's STARTTLS command: that one line, which carries nothing
// secret, is all trust sends in clear.
func readLeaf(ctx context.Context, addr, serverName string, startTLS bool) (*x509.Certificate, error) {
	ctx, cancel := context.WithTimeout(ctx, trustTimeout)
	defer cancel()
	var leaf *x509.Certificate
	cfg := &tls.Config{
		ServerName: serverName,
		// Verification is replaced by VerifyConnection, which always fails.
		InsecureSkipVerify: true, //nolint:gosec // fails closed in VerifyConnection
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) > 0 {
				leaf = cs.PeerCertificates[0]
			}
			return errRead
		},
	}
	var err error
	if startTLS {
		err = nutHandshake(ctx, addr, cfg)
	} else {
		d := &tls.Dialer{Config: cfg}
		var conn net.Conn
		if conn, err = d.DialContext(ctx, "tcp", addr); conn != nil {
			_ = conn.Close()
			return nil, errors.New("handshake completed unexpectedly") // unreachable: VerifyConnection fails
		}
	}
	if leaf != nil {
		return leaf, nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%s: no answer within %s", addr, trustTimeout)
	}
	return nil, fmt.Errorf("%s: %w", addr, err)
}

// maxNUTReply caps upsd's answer to STARTTLS. The real ones are short:
// "OK STARTTLS" (networkupstools/nut server/netssl.c, net_starttls, sent
// just before SSL_accept) or an "ERR …" line such as
// ERR FEATURE-NOT-CONFIGURED when upsd.conf has no CERTFILE.
const maxNUTReply = 512

// nutHandshake asks upsd for STARTTLS (NUT network protocol, "STARTTLS"
// answered by "OK STARTTLS") and starts the handshake cfg aborts.
func nutHandshake(ctx context.Context, addr string, cfg *tls.Config) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if _, err := io.WriteString(conn, "STARTTLS\n"); err != nil {
		return err
	}
	line, err := readLine(conn, maxNUTReply)
	if err != nil {
		return fmt.Errorf("upsd did not answer STARTTLS: %w", err)
	}
	if strings.TrimSpace(line) != "OK STARTTLS" {
		return fmt.Errorf("upsd refused STARTTLS: %q (no CERTFILE in upsd.conf?)", strings.TrimSpace(line))
	}
	return tls.Client(conn, cfg).HandshakeContext(ctx)
}

// readLine reads one line, without its newline, from r a byte at a time:
// a buffered reader could read past the newline into the server's first
// TLS bytes, which must reach tls.Client instead. A line longer than limit
// is an error, so a peer that never sends a newline costs limit bytes.
func readLine(r io.Reader, limit int) (string, error) {
	var line []byte
	var b [1]byte
	for len(line) <= limit {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			if err == io.EOF && len(line) > 0 {
				err = io.ErrUnexpectedEOF // cut mid-line
			}
			return "", err
		}
		if b[0] == '\n' {
			return string(line), nil
		}
		line = append(line, b[0])
	}
	return "", fmt.Errorf("the answer is longer than %d bytes", limit)
}

// printLeaf prints what a user needs to decide and then pin.
func printLeaf(w io.Writer, addr string, c *x509.Certificate, now time.Time) {
	fp := "sha256:" + tlspin.Of(c).String()
	fmt.Fprintf(w, "%s shows:\n", addr)
	fmt.Fprintf(w, "  fingerprint  %s\n", fp)
	fmt.Fprintf(w, "  subject      %s\n", c.Subject)
	fmt.Fprintf(w, "  issuer       %s", c.Issuer)
	if c.Subject.String() == c.Issuer.String() {
		fmt.Fprint(w, " (self-signed)")
	}
	fmt.Fprintln(w)
	var names []string
	names = append(names, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) > 0 {
		fmt.Fprintf(w, "  names        %s\n", strings.Join(names, ", "))
	}
	fmt.Fprintf(w, "  valid        %s to %s", c.NotBefore.UTC().Format(time.DateOnly), c.NotAfter.UTC().Format(time.DateOnly))
	switch {
	case now.After(c.NotAfter):
		fmt.Fprintf(w, " (EXPIRED %d days ago)", int(now.Sub(c.NotAfter).Hours()/24))
	case now.Before(c.NotBefore):
		fmt.Fprint(w, " (NOT YET VALID)")
	default:
		fmt.Fprintf(w, " (%d days left)", int(c.NotAfter.Sub(now).Hours()/24))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Check it against the device's own screen, then pin it in homelab.yaml:")
	fmt.Fprintf(w, "  fingerprint: %s\n", fp)
}
