package dns

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Permission is a token permission the package needs, named as in
// Cloudflare's dashboard.
type Permission string

// Permissions VerifyToken checks.
const (
	PermZoneRead Permission = "Zone:Read"
	PermDNSRead  Permission = "DNS:Read"
	PermDNSEdit  Permission = "DNS:Edit"
)

// TokenReport is what VerifyToken found out about the token.
type TokenReport struct {
	// ID and Status come from tokens/verify ("active", "disabled",
	// "expired"); empty when that endpoint failed, as it does for
	// account-owned tokens.
	ID        string
	Status    string
	NotBefore time.Time
	ExpiresOn time.Time
	// Zone is the zone the permissions were checked on.
	Zone Zone
	// Granted and Missing list the checked permissions.
	Granted []Permission
	Missing []Permission
	// Unchecked lists permissions not probed (DNS:Edit without ProbeWrite).
	Unchecked []Permission
}

// VerifyOptions tunes VerifyToken.
type VerifyOptions struct {
	// ProbeWrite checks DNS:Edit by creating and deleting a TXT record
	// _homelab-token-check.<zone>. Off by default: it writes to the zone.
	ProbeWrite bool
	// AccountID, when set, is used to verify an account-owned token
	// (accounts/{id}/tokens/verify) if the user endpoint rejects it.
	AccountID string
}

// VerifyToken checks that the token is active and can do what the
// package needs on zone, and reports what is missing. It returns an error
// matching ErrAuth when the token is rejected outright, and one matching
// ErrPermission (naming every missing permission) when a permission is
// missing; the report is filled either way.
//
// tokens/verify rejects account-owned tokens, so a rejection there alone
// is not fatal: the permission probes decide. Any other failure of it (429,
// 5xx, no answer) is returned.
//
// Cloudflare API: GET /user/tokens/verify (then GET
// /accounts/{account_id}/tokens/verify with AccountID), GET /zones?name=, GET
// /zones/{zone_id}/dns_records?per_page=1, and with ProbeWrite POST and
// DELETE /zones/{zone_id}/dns_records
func (c *Client) VerifyToken(ctx context.Context, zone string, o VerifyOptions) (TokenReport, error) {
	var rep TokenReport
	op := "verify token on " + zone
	cctx, cancel, err := c.call(ctx, op)
	defer cancel()
	if err != nil {
		return rep, err
	}
	info, verr := c.cf.verifyToken(cctx)
	if verr != nil && o.AccountID != "" && ctx.Err() == nil {
		info, verr = c.cf.verifyAccountToken(cctx, o.AccountID)
	}
	if verr != nil {
		verr = wrap(ctx, op, verr)
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		// Only a refusal is what account-owned tokens get there; a 429, a
		// 5xx or no answer says nothing about the token and must not be
		// dropped.
		if !errors.Is(verr, ErrAuth) && !errors.Is(verr, ErrPermission) {
			return rep, verr
		}
	} else {
		rep.ID, rep.Status, rep.NotBefore, rep.ExpiresOn = info.ID, info.Status, info.NotBefore, info.ExpiresOn
		if info.Status != "active" {
			return rep, &Error{Op: op, Message: "token is " + info.Status, Err: ErrAuth}
		}
	}
	z, err := c.Zone(ctx, zone)
	switch {
	case errors.Is(err, ErrZoneNotFound):
		rep.Missing = []Permission{PermZoneRead, PermDNSRead, PermDNSEdit}
		return rep, &Error{Op: op, Message: "zone not visible: it does not exist, or the token lacks " + joinPerms(rep.Missing), Err: ErrPermission}
	case errors.Is(err, ErrPermission):
		// The listing itself was refused: no zone read at all. Without the
		// zone the DNS permissions cannot be probed.
		rep.Missing = []Permission{PermZoneRead}
		rep.Unchecked = []Permission{PermDNSRead, PermDNSEdit}
		return rep, withOp(op+": token lacks "+string(PermZoneRead), err)
	case err != nil:
		return rep, errors.Join(err, verr)
	}
	rep.Zone = z
	rep.Granted = append(rep.Granted, PermZoneRead)
	if _, err := c.cf.listPage(cctx, z.ID); err != nil {
		err = wrap(ctx, op, err)
		if !errors.Is(err, ErrPermission) {
			return rep, err
		}
		rep.Missing = append(rep.Missing, PermDNSRead)
	} else {
		rep.Granted = append(rep.Granted, PermDNSRead)
	}
	if !o.ProbeWrite {
		rep.Unchecked = append(rep.Unchecked, PermDNSEdit)
	} else {
		probe := Record{Type: TypeTXT, Name: "_homelab-token-check." + z.Name, Content: "homelab token check", TTL: time.Minute, Comment: "temporary, created by dns.VerifyToken"}
		r, err := c.CreateRecord(ctx, z, probe)
		switch {
		case err == nil:
			rep.Granted = append(rep.Granted, PermDNSEdit)
			if err := c.DeleteRecord(ctx, z, r.ID); err != nil {
				return rep, withOp(op+": remove probe record", err)
			}
		case errors.Is(err, ErrPermission):
			rep.Missing = append(rep.Missing, PermDNSEdit)
		default:
			return rep, err
		}
	}
	if len(rep.Missing) > 0 {
		return rep, &Error{Op: op, Message: "token lacks " + joinPerms(rep.Missing), Err: ErrPermission}
	}
	return rep, nil
}

func joinPerms(ps []Permission) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}
