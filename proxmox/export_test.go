package proxmox

import "time"

// SetNow replaces the client's clock (ticket age) in tests.
func SetNow(c *Client, now func() time.Time) { c.now = now }
