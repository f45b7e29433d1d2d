package routeros

import (
	"context"
	"slices"
	"strings"
)

// FilterRuleSpec describes an /ip/firewall/filter rule to add or set.
// Matchers take RouterOS syntax, "!" negating where RouterOS allows it
// ("!10.1.1.0/24", "!LAN"). Empty fields are not sent: on add the router's
// default applies, on set the rule keeps its value.
type FilterRuleSpec struct {
	Chain              string // required on add: input, forward, output or a custom chain
	Action             string // required on add: accept, drop, reject, jump, return, …
	JumpTarget         string
	SrcAddress         string
	DstAddress         string
	SrcAddressList     string
	DstAddressList     string
	InInterface        string
	OutInterface       string
	InInterfaceList    string
	OutInterfaceList   string
	ConnectionState    string // comma list: new, established, related, invalid, untracked
	ConnectionNATState string // srcnat, dstnat
	Protocol           string
	SrcPort            string
	DstPort            string
	Comment            string
	LogPrefix          string
	Log                bool
	// Other carries any other property, as RouterOS names it
	// ("tcp-flags": "syn").
	Other map[string]string
}

func (sp FilterRuleSpec) words() []string {
	var out []string
	for _, f := range []struct{ k, v string }{
		{"chain", sp.Chain}, {"action", sp.Action}, {"jump-target", sp.JumpTarget},
		{"src-address", sp.SrcAddress}, {"dst-address", sp.DstAddress},
		{"src-address-list", sp.SrcAddressList}, {"dst-address-list", sp.DstAddressList},
		{"in-interface", sp.InInterface}, {"out-interface", sp.OutInterface},
		{"in-interface-list", sp.InInterfaceList}, {"out-interface-list", sp.OutInterfaceList},
		{"connection-state", sp.ConnectionState}, {"connection-nat-state", sp.ConnectionNATState},
		{"protocol", sp.Protocol}, {"src-port", sp.SrcPort}, {"dst-port", sp.DstPort},
		{"comment", sp.Comment}, {"log-prefix", sp.LogPrefix},
	} {
		if f.v != "" {
			out = append(out, kv(f.k, f.v))
		}
	}
	if sp.Log {
		out = append(out, kv("log", "yes"))
	}
	keys := make([]string, 0, len(sp.Other))
	for k := range sp.Other {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		out = append(out, kv(k, sp.Other[k]))
	}
	return out
}

// FilterRuleOptions place a new rule.
type FilterRuleOptions struct {
	// PlaceBefore is the rule the new one goes before; empty appends it
	// at the end of the table.
	PlaceBefore ID
}

// AddFilterRule adds a rule and returns its id. RouterOS refuses an
// unknown action, interface or list, or ports without a protocol that has
// them, with ErrInvalid.
//
// RouterOS API: /ip/firewall/filter/add (=place-before=)
func (s *FirewallService) AddFilterRule(ctx context.Context, spec FilterRuleSpec, o FilterRuleOptions) (ID, error) {
	op := "add filter rule"
	if spec.Chain == "" || spec.Action == "" {
		return "", invalid(op, "chain and action are required")
	}
	c := append(cmd{"/ip/firewall/filter/add"}, spec.words()...)
	if o.PlaceBefore != "" {
		c = append(c, kv("place-before", string(o.PlaceBefore)))
	}
	r, err := s.c.one(ctx, op, c)
	if err != nil {
		return "", err
	}
	id := ID(r.done["ret"])
	if !strings.HasPrefix(string(id), "*") {
		return "", &Error{Op: op, Command: c[0], Code: -1, Message: "add returned no id", kinds: []error{ErrConnection}}
	}
	return id, nil
}

// SetFilterRule changes the properties spec sets (non-empty fields) of
// rule id; the others keep their values.
//
// RouterOS API: /ip/firewall/filter/set
func (s *FirewallService) SetFilterRule(ctx context.Context, id ID, spec FilterRuleSpec) error {
	words := spec.words()
	if len(words) == 0 {
		return nil
	}
	_, err := s.c.one(ctx, "set filter rule "+string(id), append(cmd{"/ip/firewall/filter/set", kv(".id", string(id))}, words...))
	return err
}

// MoveFilterRule moves rule id before rule before; an empty before moves
// it to the end.
//
// RouterOS API: /ip/firewall/filter/move =numbers= =destination=
func (s *FirewallService) MoveFilterRule(ctx context.Context, id, before ID) error {
	c := cmd{"/ip/firewall/filter/move", kv("numbers", string(id))}
	if before != "" {
		c = append(c, kv("destination", string(before)))
	}
	_, err := s.c.one(ctx, "move filter rule "+string(id), c)
	return err
}

// EnableFilterRule enables rule id.
//
// RouterOS API: /ip/firewall/filter/enable
func (s *FirewallService) EnableFilterRule(ctx context.Context, id ID) error {
	_, err := s.c.one(ctx, "enable filter rule "+string(id), cmd{"/ip/firewall/filter/enable", kv(".id", string(id))})
	return err
}

// DisableFilterRule disables rule id.
//
// RouterOS API: /ip/firewall/filter/disable
func (s *FirewallService) DisableFilterRule(ctx context.Context, id ID) error {
	_, err := s.c.one(ctx, "disable filter rule "+string(id), cmd{"/ip/firewall/filter/disable", kv(".id", string(id))})
	return err
}

// RemoveFilterRule removes rule id; ErrNotFound when there is none.
//
// RouterOS API: /ip/firewall/filter/remove
func (s *FirewallService) RemoveFilterRule(ctx context.Context, id ID) error {
	_, err := s.c.one(ctx, "remove filter rule "+string(id), cmd{"/ip/firewall/filter/remove", kv(".id", string(id))})
	return err
}
