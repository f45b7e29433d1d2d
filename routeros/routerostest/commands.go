package routerostest

import (
	"crypto/ecdh"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

type attr struct{ key, value string }

type command struct {
	word    string
	attrs   []attr
	queries []string
	tag     string
}

func (c command) get(k string) (string, bool) {
	for i := len(c.attrs) - 1; i >= 0; i-- {
		if c.attrs[i].key == k {
			return c.attrs[i].value, true
		}
	}
	return "", false
}

func parseCommand(words []string) (command, *trapError) {
	cmd := command{word: words[0]}
	for _, w := range words[1:] {
		switch {
		case strings.HasPrefix(w, ".tag="):
			cmd.tag = w[5:]
		case strings.HasPrefix(w, "="):
			k, v, _ := strings.Cut(w[1:], "=")
			cmd.attrs = append(cmd.attrs, attr{k, v})
		case strings.HasPrefix(w, "?"):
			cmd.queries = append(cmd.queries, w)
		default:
			return cmd, trap(5, "unknown word %q", w)
		}
	}
	return cmd, nil
}

// handle runs one received sentence; replies are queued on c.
func (s *Server) handle(c *conn, words []string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	req := Request{Conn: c.id, Method: words[0], Words: words, Time: now}
	if menu, _ := splitCommand(words[0]); menu != "" {
		req.Path = menu
	}
	s.requests.Add(req)
	s.commands++
	due := now.Add(s.latency.Get())
	cmd, perr := parseCommand(words)
	if !c.loggedIn {
		if cmd.word != "/login" {
			c.enqueue(outItem{due: due, data: AppendSentence(nil, "!fatal", "not logged in"), close: true})
			return
		}
		name, _ := cmd.get("name")
		pw, hasPW := cmd.get("password")
		want, known := s.userPassword(name)
		switch {
		case s.login == LoginNeverAnswer:
		case s.login == LoginLegacy:
			resp, hasResp := cmd.get("response")
			switch {
			case !hasResp:
				c.challenge = make([]byte, 16)
				_, _ = rand.Read(c.challenge)
				c.send(due, cmd.tag, done("ret", hex.EncodeToString(c.challenge)))
			case known && c.challenge != nil && resp == legacyResponse(want, c.challenge):
				c.loggedIn, c.user = true, name
				c.send(due, cmd.tag, done())
			default:
				c.send(due, cmd.tag, trapReply(&trapError{category: -1, message: "cannot log in"}))
			}
		case s.login == LoginNormal && known && hasPW && want == pw:
			c.loggedIn, c.user = true, name
			c.send(due, cmd.tag, done())
		default:
			c.send(due, cmd.tag, trapReply(&trapError{category: -1, message: "invalid user name or password (6)"}))
		}
		return
	}
	if perr != nil {
		c.send(due, cmd.tag, trapReply(perr))
		return
	}
	if s.userGroup(c.user) == "read" && !readVerb(cmd.word) {
		c.send(due, cmd.tag, trapReply(&trapError{category: -1, message: "not enough permissions (9)"}))
		return
	}
	f := s.takeFault(cmd.word)
	if f != nil {
		switch f.Kind {
		case FaultTrap, FaultFatal, FaultStall, FaultCorruptLength, FaultUnknownReply:
			c.sendWithFault(due, f, cmd.tag, nil)
			return
		}
	}
	replies, err := s.exec(c, cmd, due)
	if err != nil {
		var te *trapError
		if !errors.As(err, &te) {
			te = trap(4, "%s", err.Error())
		}
		replies = trapReply(te)
	}
	c.sendWithFault(due, f, cmd.tag, replies)
}

// userPassword returns the password of an enabled /user; s.mu is held.
func (s *Server) userPassword(name string) (string, bool) {
	rows := s.tables["/user"].find(name)
	if len(rows) != 1 || rows[0].values["disabled"] == "true" || name == "" || strings.HasPrefix(name, "*") {
		return "", false
	}
	return rows[0].values["password"], true
}

// userGroup returns the group of a /user ("full", "write", "read"); s.mu
// is held.
func (s *Server) userGroup(name string) string {
	rows := s.tables["/user"].find(name)
	if len(rows) != 1 {
		return ""
	}
	return rows[0].values["group"]
}

// legacyResponse is the pre-6.43 login answer for password and challenge.
func legacyResponse(password string, challenge []byte) string {
	h := md5.New()
	h.Write([]byte{0})
	h.Write([]byte(password))
	h.Write(challenge)
	return "00" + hex.EncodeToString(h.Sum(nil))
}

// readVerb reports whether a command only reads (allowed without the
// write policy).
func readVerb(word string) bool {
	switch word {
	case "/login", "/cancel", "/quit", "/file/read", "/interface/pppoe-client/monitor":
		return true
	}
	_, verb := splitCommand(word)
	return verb == "print" || verb == "getall" || verb == "listen"
}

func splitCommand(word string) (menu, verb string) {
	i := strings.LastIndex(word, "/")
	if i < 0 {
		return "", word
	}
	return word[:i], word[i+1:]
}

func done(kv ...string) [][]string {
	d := []string{"!done"}
	for i := 0; i+1 < len(kv); i += 2 {
		d = append(d, "="+kv[i]+"="+kv[i+1])
	}
	return [][]string{d}
}

// exec runs a command with s.mu held. A nil reply with nil error means the
// command streams (listen, follow, monitor without once).
func (s *Server) exec(c *conn, cmd command, due time.Time) ([][]string, error) {
	switch cmd.word {
	case "/login":
		return done(), nil
	case "/cancel":
		return s.cancel(c, cmd, due), nil
	case "/quit":
		c.enqueue(outItem{due: due, data: encode(cmd.tag, [][]string{{"!fatal", "session terminated on request"}}), close: true})
		return nil, nil
	case "/export":
		return s.export(cmd)
	case "/system/backup/save":
		return s.backup(cmd)
	case "/file/read":
		return s.fileRead(cmd)
	case "/ip/cloud/force-update":
		return done(), nil
	case "/interface/pppoe-client/monitor":
		return s.monitor(c, cmd)
	case "/ip/dhcp-server/lease/make-static":
		return s.update(cmd, "/ip/dhcp-server/lease", func(r *row) error {
			if r.values["dynamic"] != "true" {
				return trap(4, "failure: lease is already static")
			}
			r.values["dynamic"] = "false"
			return nil
		}, true)
	case "/system/script/run":
		return s.update(cmd, "/system/script", func(r *row) error {
			n, _ := strconv.Atoi(r.values["run-count"])
			r.values["run-count"] = strconv.Itoa(n + 1)
			r.values["last-started"] = s.now().Format(time.DateTime)
			return nil
		}, true)
	}
	menu, verb := splitCommand(cmd.word)
	s.expire()
	if fields, ok := settingsSpec[menu]; ok {
		switch verb {
		case "print", "getall":
			return s.printItems([]map[string]string{s.settingsItem(menu)}, cmd, c)
		case "set":
			if menu == "/system/resource" {
				return nil, trap(0, "no such command or directory (set)")
			}
			vals := s.settings[menu]
			for _, a := range cmd.attrs {
				f, ok := fields[a.key]
				if !ok {
					return nil, trap(1, "unknown parameter %s", a.key)
				}
				v, err := s.normalise(a.key, f, a.value)
				if err != nil {
					return nil, trap(1, "%s", err.Error())
				}
				vals[a.key] = v
			}
			return done(), nil
		}
		return nil, trap(0, "no such command or directory (%s)", verb)
	}
	t, ok := s.tables[menu]
	if !ok {
		return nil, trap(0, "no such command prefix")
	}
	switch verb {
	case "print", "getall":
		items := make([]map[string]string, 0, len(t.rows))
		for _, r := range t.rows {
			items = append(items, hide(t.spec, r.item()))
		}
		if menu == "/interface" {
			items = s.interfaceItems()
		}
		if _, ok := cmd.get("follow-only"); ok {
			items = nil
		}
		replies, err := s.printItems(items, cmd, c)
		if err != nil {
			return nil, err
		}
		_, follow := cmd.get("follow")
		_, followOnly := cmd.get("follow-only")
		if follow || followOnly {
			c.streams[cmd.tag] = menu
			return replies[:len(replies)-1], nil
		}
		return replies, nil
	case "listen":
		c.streams[cmd.tag] = menu
		return nil, nil
	case "add":
		// A verb a menu lacks is category 0, "missing item or command"
		// (MikroTik API manual, !trap "category"); the message names it as
		// in "no such command or directory (adress)" (MikroTik wiki, User
		// Topics, "API multiplatform from townet"). The same for move and
		// remove below.
		if t.spec.fixed {
			return nil, trap(0, "no such command or directory (add)")
		}
		return s.add(menu, t, cmd)
	case "set":
		return s.update(cmd, menu, func(r *row) error {
			vals := clone(r.values)
			if err := s.applyAttrs(t.spec, vals, cmd.attrs, false); err != nil {
				return err
			}
			if err := s.derive(menu, vals); err != nil {
				return err
			}
			if t.duplicate(vals, r) {
				return trap(4, "failure: already have such entry")
			}
			t.indexDel(r)
			r.values = vals
			t.indexAdd(r)
			return nil
		}, false)
	case "move":
		if !t.spec.ordered {
			return nil, trap(0, "no such command or directory (move)")
		}
		return s.move(t, menu, cmd)
	case "enable", "disable":
		return s.update(cmd, menu, func(r *row) error {
			r.values["disabled"] = strconv.FormatBool(verb == "disable")
			return nil
		}, false)
	case "remove":
		if t.spec.fixed {
			return nil, trap(0, "no such command or directory (remove)")
		}
		rows, err := s.resolve(t, cmd)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if r.values["dynamic"] == "true" {
				return nil, trap(4, "failure: can not remove dynamic entry")
			}
		}
		for _, r := range rows {
			t.rows = slices.DeleteFunc(t.rows, func(x *row) bool { return x == r })
			t.indexDel(r)
			if !r.expires.IsZero() {
				s.expiring--
			}
			item := r.item()
			item[".dead"] = "true"
			s.notify(menu, item)
		}
		return done(), nil
	}
	return nil, trap(0, "no such command or directory (%s)", verb)
}

func clone(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (r *row) item() map[string]string {
	m := clone(r.values)
	if !r.expires.IsZero() {
		m["timeout"] = FormatDuration(time.Until(r.expires).Round(time.Second))
	}
	m[".id"] = "*" + strings.ToUpper(strconv.FormatInt(int64(r.id), 16))
	return m
}

func (s *Server) resolve(t *table, cmd command) ([]*row, error) {
	ref, ok := cmd.get(".id")
	if !ok {
		ref, ok = cmd.get("numbers")
	}
	if !ok || ref == "" {
		return nil, trap(1, "failure: .id not specified")
	}
	rows := t.find(ref)
	if rows == nil {
		return nil, trap(1, "no such item")
	}
	return rows, nil
}

// update applies fn to the rows named by .id/numbers; dynamic rows are
// refused unless allowDynamic.
func (s *Server) update(cmd command, menu string, fn func(*row) error, allowDynamic bool) ([][]string, error) {
	t := s.tables[menu]
	rows, err := s.resolve(t, cmd)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if !allowDynamic && r.values["dynamic"] == "true" {
			return nil, trap(4, "failure: can not change dynamic entry")
		}
		if err := fn(r); err != nil {
			return nil, err
		}
		s.notify(menu, r.item())
	}
	return done(), nil
}

func (s *Server) add(menu string, t *table, cmd command) ([][]string, error) {
	vals := clone(t.spec.defaults)
	if vals == nil {
		vals = map[string]string{}
	}
	if err := s.applyAttrs(t.spec, vals, cmd.attrs, true); err != nil {
		return nil, err
	}
	if err := s.derive(menu, vals); err != nil {
		return nil, err
	}
	if t.duplicate(vals, nil) {
		return nil, trap(4, "failure: already have such entry")
	}
	pos := -1
	if ref, ok := cmd.get("place-before"); ok && t.spec.ordered {
		rows := t.find(ref)
		if len(rows) != 1 {
			return nil, trap(1, "no such item")
		}
		pos = slices.Index(t.rows, rows[0])
	}
	r := s.insertAt(menu, vals, pos)
	if d, ok := parseDuration(vals["timeout"]); ok && d > 0 && menu == "/ip/firewall/address-list" {
		r.expires = time.Now().Add(d)
		s.expiring++
	}
	return done("ret", r.item()[".id"]), nil
}

// move places the rows named by .id/numbers before destination (or at the
// end when it is absent), keeping their order, as /ip/firewall/filter/move
// does (MikroTik docs, console "move": numbers, destination).
func (s *Server) move(t *table, menu string, cmd command) ([][]string, error) {
	rows, err := s.resolve(t, cmd)
	if err != nil {
		return nil, err
	}
	var dest *row
	if ref, ok := cmd.get("destination"); ok && ref != "" {
		d := t.find(ref)
		if len(d) != 1 {
			return nil, trap(1, "no such item")
		}
		dest = d[0]
	}
	for _, r := range rows {
		if r.values["dynamic"] == "true" {
			return nil, trap(4, "failure: can not move dynamic entry")
		}
	}
	rest := slices.DeleteFunc(slices.Clone(t.rows), func(x *row) bool { return slices.Contains(rows, x) })
	pos := len(rest)
	if dest != nil {
		if i := slices.Index(rest, dest); i >= 0 {
			pos = i
		} else {
			// Moving before one of the moved rows: the block stays where
			// that row was.
			pos = slices.Index(t.rows, dest)
			for _, r := range t.rows[:pos] {
				if slices.Contains(rows, r) {
					pos--
				}
			}
		}
	}
	t.rows = slices.Insert(rest, pos, rows...)
	for _, r := range rows {
		s.notify(menu, r.item())
	}
	return done(), nil
}

// hide drops write-only properties (a /user password) from a printed item.
func hide(spec *menuSpec, item map[string]string) map[string]string {
	for k := range spec.hidden {
		delete(item, k)
	}
	return item
}

// expire removes address-list entries whose timeout ran out; s.mu is held.
func (s *Server) expire() {
	const menu = "/ip/firewall/address-list"
	if s.expiring == 0 {
		return // keep commands O(1) when nothing can expire
	}
	t := s.tables[menu]
	now := time.Now()
	t.rows = slices.DeleteFunc(t.rows, func(r *row) bool {
		if r.expires.IsZero() || now.Before(r.expires) {
			return false
		}
		s.expiring--
		t.indexDel(r)
		item := r.item()
		item[".dead"] = "true"
		s.notify(menu, item)
		return true
	})
}

// parseDuration reads the fake's own stored form ("1h", "90s", "1w2d").
func parseDuration(v string) (time.Duration, bool) {
	if v == "" || !durationRE.MatchString(v) {
		return 0, false
	}
	var total time.Duration
	for v != "" {
		i := 0
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
		n, err := strconv.Atoi(v[:i])
		if err != nil {
			return 0, false
		}
		v = v[i:]
		unit := map[string]time.Duration{"w": 7 * 24 * time.Hour, "d": 24 * time.Hour, "h": time.Hour, "m": time.Minute, "s": time.Second, "ms": time.Millisecond}
		suffix := v[:1]
		if strings.HasPrefix(v, "ms") {
			suffix = "ms"
		}
		total += time.Duration(n) * unit[suffix]
		v = v[len(suffix):]
	}
	return total, true
}

func (s *Server) insert(menu string, vals map[string]string) *row { return s.insertAt(menu, vals, -1) }

// insertAt inserts a row before position pos (-1: at the end), as
// add's place-before does in ordered menus; s.mu is held.
func (s *Server) insertAt(menu string, vals map[string]string, pos int) *row {
	s.nextID++
	r := &row{id: s.nextID, values: vals}
	t := s.tables[menu]
	if pos < 0 || pos >= len(t.rows) {
		t.rows = append(t.rows, r)
	} else {
		t.rows = slices.Insert(t.rows, pos, r)
	}
	t.indexAdd(r)
	s.notify(menu, r.item())
	return r
}

// derive fills computed and read-only fields after a write.
func (s *Server) derive(menu string, v map[string]string) error {
	switch menu {
	case "/ip/address":
		p, err := netip.ParsePrefix(v["address"])
		if err != nil {
			return trap(1, "invalid value for argument address")
		}
		if v["dynamic"] != "true" {
			v["network"] = p.Masked().Addr().String()
		}
		v["actual-interface"] = v["interface"]
	case "/ip/firewall/address-list":
		if v["timeout"] != "" {
			v["dynamic"] = "true"
		}
		if v["creation-time"] == "" {
			v["creation-time"] = s.now().Format(time.DateTime)
		}
	case "/interface/wireguard":
		priv := v["private-key"]
		var key *ecdh.PrivateKey
		var err error
		if priv == "" {
			key, err = ecdh.X25519().GenerateKey(rand.Reader)
			if err == nil {
				v["private-key"] = base64.StdEncoding.EncodeToString(key.Bytes())
			}
		} else {
			var b []byte
			b, err = base64.StdEncoding.DecodeString(priv)
			if err == nil {
				key, err = ecdh.X25519().NewPrivateKey(b)
			}
		}
		if err != nil {
			return trap(1, "invalid value for argument private-key")
		}
		v["public-key"] = base64.StdEncoding.EncodeToString(key.PublicKey().Bytes())
	case "/interface/wireguard/peers":
		// allowed-address ranges of one interface's peers may not overlap.
		mine, _ := parsePrefixes(v["allowed-address"])
		for _, r := range s.tables[menu].rows {
			if r.values["interface"] != v["interface"] || r.values["public-key"] == v["public-key"] {
				continue
			}
			theirs := s.allowedOf(r.values["allowed-address"])
			for _, a := range mine {
				for _, b := range theirs {
					if a.Overlaps(b) {
						return trap(1, "failure: allowed-address %s overlaps with peer %s", a, r.item()[".id"])
					}
				}
			}
		}
	case "/ip/firewall/filter", "/ipv6/firewall/filter":
		return checkRule(v)
	case "/user":
		// Category 1 and the wording as for any unknown name (MikroTik
		// API manual, !trap "category" example).
		if !slices.Contains([]string{"full", "write", "read"}, v["group"]) {
			return trap(1, "input does not match any value of group")
		}
	case "/file":
		v["size"] = strconv.Itoa(len(v["contents"]))
		if v["type"] == "" {
			v["type"] = "file"
		}
	}
	return nil
}

// checkRule refuses the combinations a router refuses: a jump without a
// target, and ports without a protocol that has ports. The wording is
// modelled on RouterOS traps [unverified against a live router].
func checkRule(v map[string]string) error {
	if v["action"] == "jump" && v["jump-target"] == "" {
		return trap(1, "failure: jump-target not specified")
	}
	if v["action"] != "jump" && v["jump-target"] != "" {
		return trap(1, "failure: jump-target can be set only when action=jump")
	}
	for _, k := range []string{"dst-port", "src-port", "port"} {
		if v[k] == "" {
			continue
		}
		switch strings.TrimPrefix(v["protocol"], "!") {
		case "tcp", "udp", "udp-lite", "dccp", "sctp":
			if !strings.HasPrefix(v["protocol"], "!") {
				continue
			}
		}
		return trap(1, "failure: %s can be used only with protocol tcp, udp, udp-lite, dccp or sctp", k)
	}
	return nil
}

// allowedOf parses a stored allowed-address value once: adding many peers
// must not cost the fake a parse of every other peer each time (it would
// dominate the benchmarks); s.mu is held.
func (s *Server) allowedOf(v string) []netip.Prefix {
	if p, ok := s.prefixMemo[v]; ok {
		return p
	}
	if s.prefixMemo == nil {
		s.prefixMemo = map[string][]netip.Prefix{}
	}
	p, _ := parsePrefixes(v)
	s.prefixMemo[v] = p
	return p
}

func parsePrefixes(s string) ([]netip.Prefix, error) {
	if s == "" {
		return nil, nil
	}
	var out []netip.Prefix
	for part := range strings.SplitSeq(s, ",") {
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func sortedWords(item map[string]string, proplist []string, hasProplist bool) []string {
	keys := make([]string, 0, len(item))
	if hasProplist {
		for _, k := range proplist {
			if _, ok := item[k]; ok {
				keys = append(keys, k)
			}
		}
	} else {
		for k := range item {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if (keys[i] == ".id") != (keys[j] == ".id") {
				return keys[i] == ".id"
			}
			return keys[i] < keys[j]
		})
	}
	words := []string{"!re"}
	for _, k := range keys {
		words = append(words, "="+k+"="+item[k])
	}
	return words
}

func (s *Server) printItems(items []map[string]string, cmd command, _ *conn) ([][]string, error) {
	pl, hasPL := cmd.get(".proplist")
	var proplist []string
	if hasPL {
		proplist = strings.Split(pl, ",")
	}
	_, countOnly := cmd.get("count-only")
	var out [][]string
	n := 0
	for _, it := range items {
		ok, err := matchQuery(cmd.queries, it)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		n++
		if !countOnly {
			out = append(out, sortedWords(it, proplist, hasPL))
		}
	}
	if countOnly {
		return done("ret", strconv.Itoa(n)), nil
	}
	if len(out) == 0 && s.version >= version(7, 18, 0) {
		out = append(out, []string{"!empty"})
	}
	return append(out, []string{"!done"}), nil
}

// notify streams a changed item to every listener of menu; s.mu is held.
func (s *Server) notify(menu string, item map[string]string) {
	due := time.Now().Add(s.latency.Get())
	for c := range s.conns {
		for tag, m := range c.streams {
			if m == menu {
				c.send(due, tag, [][]string{sortedWords(item, nil, false)})
			}
		}
	}
}

func (s *Server) cancel(c *conn, cmd command, due time.Time) [][]string {
	target, ok := cmd.get("tag")
	for tag := range c.streams {
		if ok && tag != target {
			continue
		}
		delete(c.streams, tag)
		c.send(due, tag, [][]string{{"!trap", "=category=2", "=message=interrupted"}, {"!done"}})
	}
	return done()
}

func (s *Server) now() time.Time { return time.Now().UTC() }

func (s *Server) interfaceExists(name string) bool {
	for _, menu := range []string{"/interface", "/interface/wireguard", "/interface/pppoe-client"} {
		if t, ok := s.tables[menu]; ok && t.find(name) != nil {
			return true
		}
	}
	return false
}

// interfaceListExists: the built-in lists and those of /interface/list
// (MikroTik docs, Interface lists: all, none, dynamic, static are built in).
func (s *Server) interfaceListExists(name string) bool {
	switch name {
	case "all", "none", "dynamic", "static":
		return true
	}
	return s.tables["/interface/list"].find(name) != nil
}

// interfaceItems is /interface/print: the physical and bridge interfaces
// of /interface and one row per WireGuard interface and PPPoE client, as
// the router lists every interface there whatever its kind (MikroTik docs,
// Interface: "/interface print" shows all interfaces with their type).
func (s *Server) interfaceItems() []map[string]string {
	var items []map[string]string
	for _, r := range s.tables["/interface"].rows {
		items = append(items, r.item())
	}
	for menu, typ := range map[string]string{"/interface/wireguard": "wg", "/interface/pppoe-client": "pppoe-out"} {
		for _, r := range s.tables[menu].rows {
			it := r.item()
			items = append(items, map[string]string{".id": it[".id"], "name": it["name"], "type": typ,
				"running": strconv.FormatBool(it["disabled"] != "true"), "disabled": it["disabled"], "dynamic": "false",
				"mtu": valueOrDefault(it["mtu"], "1420"), "comment": it["comment"]})
		}
	}
	slices.SortFunc(items, func(a, b map[string]string) int { return compareIDs(a[".id"], b[".id"]) })
	return items
}

func valueOrDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func compareIDs(a, b string) int {
	x, _ := strconv.ParseUint(strings.TrimPrefix(a, "*"), 16, 32)
	y, _ := strconv.ParseUint(strings.TrimPrefix(b, "*"), 16, 32)
	return int(x) - int(y)
}

// FormatDuration prints d the way RouterOS does: 1w2d3h4m5s, with ms for
// sub-second parts and "0s" for zero.
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	units := []struct {
		suffix string
		size   time.Duration
	}{{"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}}
	for _, u := range units {
		if n := d / u.size; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.suffix)
			d -= n * u.size
		}
	}
	if b.Len() == 0 {
		return "0s"
	}
	return b.String()
}

func (s *Server) settingsItem(menu string) map[string]string {
	switch menu {
	case "/system/resource":
		m := clone(s.settings[menu])
		m["uptime"] = FormatDuration((labUptime + time.Since(s.started)).Truncate(time.Second))
		m["version"] = s.versionStr + " (stable)"
		return m
	case "/system/clock":
		now := s.now()
		date := now.Format(time.DateOnly)
		if s.version < version(7, 10, 0) {
			date = strings.ToLower(now.Format("Jan/02/2006"))
		}
		return map[string]string{"time": now.Format(time.TimeOnly), "date": date, "time-zone-name": s.settings[menu]["time-zone-name"], "gmt-offset": "+00:00", "dst-active": "false"}
	}
	return clone(s.settings[menu])
}

func (s *Server) monitor(c *conn, cmd command) ([][]string, error) {
	t := s.tables["/interface/pppoe-client"]
	ref, _ := cmd.get("numbers")
	if ref == "" {
		ref, _ = cmd.get(".id")
	}
	rows := t.find(ref)
	if len(rows) != 1 {
		return nil, trap(1, "input does not match any value of interface")
	}
	p := rows[0].values
	item := map[string]string{"status": "disconnected"}
	if p["disabled"] != "true" {
		for _, r := range s.tables["/ip/address"].rows {
			if r.values["interface"] == p["name"] {
				pre, _ := netip.ParsePrefix(r.values["address"])
				item = map[string]string{
					"status": "connected", "uptime": FormatDuration((labUptime + time.Since(s.started)).Truncate(time.Second)),
					"active-links": "1", "encoding": "", "service-name": "", "ac-name": "isp-bras", "ac-mac": "00:11:22:33:44:55",
					"mtu": "1492", "mru": "1492", "local-address": pre.Addr().String(), "remote-address": r.values["network"],
				}
			}
		}
	}
	re := sortedWords(item, nil, false)
	if _, once := cmd.get("once"); once {
		return [][]string{re, {"!done"}}, nil
	}
	c.streams[cmd.tag] = "monitor:" + p["name"]
	return [][]string{re}, nil
}

func (s *Server) upsertFile(name, typ, contents string) {
	t := s.tables["/file"]
	if rows := t.find(name); rows != nil {
		rows[0].values["contents"] = contents
		rows[0].values["size"] = strconv.Itoa(len(contents))
		return
	}
	s.insert("/file", map[string]string{"name": name, "type": typ, "contents": contents,
		"size": strconv.Itoa(len(contents)), "creation-time": s.now().Format(time.DateTime)})
}

func (s *Server) export(cmd command) ([][]string, error) {
	name, ok := cmd.get("file")
	if !ok || name == "" {
		return done(), nil // RouterOS sends no text over the API
	}
	if !strings.HasSuffix(name, ".rsc") {
		name += ".rsc"
	}
	s.upsertFile(name, ".rsc file", s.exportText())
	return done(), nil
}

// exportText renders the configured (non-dynamic) rows as a script.
func (s *Server) exportText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s by RouterOS %s\n# model = %s\n", s.now().Format("2006-01-02 15:04:05"), s.versionStr, s.settings["/system/resource"]["board-name"])
	fmt.Fprintf(&b, "/system identity\nset name=%s\n", s.settings["/system/identity"]["name"])
	menus := make([]string, 0, len(s.tables))
	for m := range s.tables {
		if m != "/file" {
			menus = append(menus, m)
		}
	}
	sort.Strings(menus)
	for _, m := range menus {
		t := s.tables[m]
		header := false
		for _, r := range t.rows {
			if r.values["dynamic"] == "true" {
				continue
			}
			if !header {
				fmt.Fprintf(&b, "/%s\n", strings.ReplaceAll(m[1:], "/", " "))
				header = true
			}
			keys := make([]string, 0, len(r.values))
			for k := range r.values {
				if !t.spec.readOnly[k] && k != "private-key" && k != "password" && k != "preshared-key" && k != "network" && k != "actual-interface" {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			b.WriteString("add")
			for _, k := range keys {
				v := r.values[k]
				if strings.ContainsAny(v, " \"\n;$") || v == "" {
					v = strconv.Quote(v)
				}
				fmt.Fprintf(&b, " %s=%s", k, v)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func (s *Server) backup(cmd command) ([][]string, error) {
	name, _ := cmd.get("name")
	if name == "" {
		name = s.settings["/system/identity"]["name"] + "-" + s.now().Format("20060102-1504")
	}
	_, dont := cmd.get("dont-encrypt")
	pw, _ := cmd.get("password")
	kind := "backup"
	if pw != "" && !dont {
		kind = "backup (encrypted)"
	}
	s.upsertFile(name+".backup", "backup", "MIKROTIK-BACKUP "+kind)
	return done(), nil
}

// MaxChunk is the largest chunk-size /file/read accepts.
const MaxChunk = 32768

func (s *Server) fileRead(cmd command) ([][]string, error) {
	name, _ := cmd.get("file")
	rows := s.tables["/file"].find(name)
	if name == "" || rows == nil {
		return nil, trap(1, "no such item")
	}
	off, err := strconv.Atoi(valueOr(cmd, "offset", "0"))
	if err != nil || off < 0 {
		return nil, trap(1, "invalid value for argument offset")
	}
	size, err := strconv.Atoi(valueOr(cmd, "chunk-size", "4096"))
	if err != nil || size <= 0 || size > MaxChunk {
		return nil, trap(1, "invalid value for argument chunk-size")
	}
	data := rows[0].values["contents"]
	off = min(off, len(data))
	end := min(off+size, len(data))
	return [][]string{{"!re", "=data=" + data[off:end]}, {"!done"}}, nil
}

func valueOr(cmd command, k, def string) string {
	if v, ok := cmd.get(k); ok {
		return v
	}
	return def
}
