package omv

import "time"

// WithRetryBackoff spaces retries by d instead of httpx's 250 ms, so that
// tests through injected 504s stay fast.
func WithRetryBackoff(d time.Duration) Option {
	return func(c *config) error { c.retryBackoff = d; return nil }
}
