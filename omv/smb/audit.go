package smb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/hirochachacha/go-smb2"

	"github.com/thehomelab/homelab/secret"
)

// Credentials of an SMB user (NTLM).
type Credentials struct {
	User     string
	Password secret.Secret
	Domain   string // "" for a standalone server
}

// Report is the outcome of an audit. Each check that failed has a line in
// Problems; OK reports none.
type Report struct {
	Share       string
	LoggedIn    bool     // owner authenticated and mounted the share
	Entries     int      // entries listed at the share root
	Listed      bool     // the root directory could be listed
	Wrote       bool     // a probe file was created and written
	Deleted     bool     // the probe file was deleted again
	OtherDenied bool     // the other user could not mount the share (true when no other user was given)
	Total       uint64   // bytes, as the share reports them
	Free        uint64   // bytes available to the owner
	Problems    []string // human-readable, one per failed check
}

// OK reports whether every check passed.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Audit connects to addr ("host:445") and checks share for owner, then
// checks that other (if other.User is not "") is denied. It returns an
// error only when the server cannot be reached (ErrUnavailable), the
// arguments are missing (ErrInvalid) or ctx ends (ctx.Err()); failed checks
// are findings in the Report.
func Audit(ctx context.Context, addr, share string, owner, other Credentials) (Report, error) {
	r := Report{Share: share, OtherDenied: other.User == ""}
	if addr == "" || share == "" || owner.User == "" {
		return r, &Error{Op: "audit", Message: "address, share and owner are required", Err: ErrInvalid}
	}
	sess, closeFn, err := dial(ctx, addr, owner)
	if err != nil {
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
		if isNetErr(err) {
			return r, &Error{Op: fmt.Sprintf("audit %s on %s", share, addr), Err: classed{ErrUnavailable, err}}
		}
		r.Problems = append(r.Problems, fmt.Sprintf("%s cannot log in: %v", owner.User, err))
		return r, nil
	}
	defer closeFn()
	fs, err := sess.Mount(share)
	if err != nil {
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
		r.Problems = append(r.Problems, fmt.Sprintf("%s cannot mount %s: %v", owner.User, share, err))
		return r, nil
	}
	defer func() { _ = fs.Umount() }()
	r.LoggedIn = true

	if entries, err := fs.ReadDir("."); err != nil {
		r.Problems = append(r.Problems, fmt.Sprintf("%s cannot list %s: %v", owner.User, share, err))
	} else {
		r.Listed, r.Entries = true, len(entries)
	}

	probe := probeName()
	if err := fs.WriteFile(probe, []byte("homelab smb audit probe\n"), 0o644); err != nil {
		r.Problems = append(r.Problems, fmt.Sprintf("%s cannot write to %s: %v", owner.User, share, err))
	} else {
		r.Wrote = true
		if err := fs.Remove(probe); err != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("%s cannot delete the probe %s in %s: %v", owner.User, probe, share, err))
		} else {
			r.Deleted = true
		}
	}

	if st, err := fs.Statfs("."); err != nil {
		r.Problems = append(r.Problems, fmt.Sprintf("cannot read free space of %s: %v", share, err))
	} else {
		// go-smb2 names the FileFsFullSizeInformation fields oddly:
		// BlockSize is bytes per sector, FragmentSize sectors per unit.
		unit := st.BlockSize() * st.FragmentSize()
		r.Total = st.TotalBlockCount() * unit
		r.Free = st.AvailableBlockCount() * unit
	}

	if other.User != "" {
		denied, detail, err := deniedTo(ctx, addr, share, other)
		if err != nil {
			return r, err
		}
		r.OtherDenied = denied
		if !denied {
			r.Problems = append(r.Problems, fmt.Sprintf("%s can access %s: %s", other.User, share, detail))
		}
	}
	return r, nil
}

// deniedTo reports whether creds cannot log in or mount share.
func deniedTo(ctx context.Context, addr, share string, creds Credentials) (bool, string, error) {
	sess, closeFn, err := dial(ctx, addr, creds)
	if err != nil {
		if ctx.Err() != nil {
			return false, "", ctx.Err()
		}
		if isNetErr(err) {
			return false, "", &Error{Op: fmt.Sprintf("audit %s on %s as %s", share, addr, creds.User), Err: classed{ErrUnavailable, err}}
		}
		return true, "", nil
	}
	defer closeFn()
	fs, err := sess.Mount(share)
	if err != nil {
		if ctx.Err() != nil {
			return false, "", ctx.Err()
		}
		return true, "", nil
	}
	defer func() { _ = fs.Umount() }()
	if _, err := fs.ReadDir("."); err != nil {
		return true, "", nil // mounted but cannot read: effectively denied
	}
	return false, "mounted and listed it", nil
}

type netError struct{ error }

func (e netError) Unwrap() error { return e.error }

func isNetErr(err error) bool {
	var ne netError
	return errors.As(err, &ne)
}

// dial opens a TCP connection and an authenticated SMB session bound to
// ctx; closeFn logs off and closes the connection.
func dial(ctx context.Context, addr string, creds Credentials) (*smb2.Session, func(), error) {
	var nd net.Dialer
	conn, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, netError{err}
	}
	// go-smb2 only watches ctx during requests; closing the connection
	// when ctx ends unblocks any read stuck in between.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	d := &smb2.Dialer{Initiator: &smb2.NTLMInitiator{User: creds.User, Password: creds.Password.Reveal(), Domain: creds.Domain}}
	sess, err := d.DialContext(ctx, conn)
	if err != nil {
		stop()
		_ = conn.Close()
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, scrub(err, creds)
	}
	sess = sess.WithContext(ctx)
	return sess, func() {
		_ = sess.Logoff()
		stop()
		_ = conn.Close()
	}, nil
}

// scrub keeps a password out of an error text, whatever the library put in it.
func scrub(err error, creds Credentials) error {
	pw := creds.Password.Reveal()
	if pw == "" || !strings.Contains(err.Error(), pw) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), pw, secret.Redacted))
}

func probeName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return ".homelab-probe-" + hex.EncodeToString(b)
}
