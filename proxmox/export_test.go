package proxmox

import "time"

// SetNow replaces the client's clock (ticket age) in tests.
func SetNow(c *Client, now func() time.Time) { c.now = now }

// SetMaxBody lowers the cap of a reply body in tests.
func SetMaxBody(c *Client, n int64) { *c.maxBody = n }
