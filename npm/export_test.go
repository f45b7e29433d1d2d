package npm

import "time"

// WithClock sets the client's clock (token and certificate expiry), for
// tests that move the fake server's clock.
func WithClock(now func() time.Time) Option { return withClock(now) }
