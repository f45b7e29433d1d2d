package omv

import "time"

// WithRetryBackoff spaces retries by d instead of httpx's 250 ms, so that
// tests through injected 504s stay fast.
func WithRetryBackoff(d time.Duration) Option {
	return func(c *config) error { c.retryBackoff = d; return nil }
}

// WithMaxReply replaces the 32 MiB cap on a reply, so that a test of the
// cap need not move 32 MiB under the race detector.
func WithMaxReply(n int64) Option {
	return func(c *config) error { c.maxBody = n; return nil }
}

// MaxReply is the default cap on a reply.
const MaxReply = maxBody
