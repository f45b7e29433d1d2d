package ups_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/ups"
	"github.com/thehomelab/homelab/ups/upstest"
)

// An upsd that streams a LIST without end costs a clear error after the
// item cap, never gigabytes: issue 16 saw 2.2 GiB grow inside the default
// timeout. The connection is dropped (the rest is unread) and the next call
// redials.
func TestEndlessListIsCapped(t *testing.T) {
	t.Parallel()
	lists := map[string]func(ctx context.Context, d *ups.Device) error{
		"VAR":    func(ctx context.Context, d *ups.Device) error { _, err := d.Variables(ctx); return err },
		"RW":     func(ctx context.Context, d *ups.Device) error { _, err := d.Writable(ctx); return err },
		"CMD":    func(ctx context.Context, d *ups.Device) error { _, err := d.Commands(ctx); return err },
		"CLIENT": func(ctx context.Context, d *ups.Device) error { _, err := d.Clients(ctx); return err },
		"ENUM":   func(ctx context.Context, d *ups.Device) error { _, err := d.Enum(ctx, "ups.beeper.status"); return err },
		"RANGE": func(ctx context.Context, d *ups.Device) error {
			_, err := d.Ranges(ctx, "input.transfer.low")
			return err
		},
	}
	for kind, list := range lists {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := newFake(t)
			c := dial(t, s, ups.WithMaxListItems(500), ups.WithKeepAlive(0))
			d := c.Device("ups")
			s.Inject(upstest.Fault{Kind: upstest.EndlessList, Verb: "LIST", Times: 1})
			start := time.Now()
			err := list(t.Context(), d)
			took := time.Since(start)
			require.Error(t, err)
			assert.ErrorIs(t, err, ups.ErrTooLarge)
			assert.ErrorIs(t, err, ups.ErrUnavailable)
			assertCode(t, err, ups.CodeTooLarge)
			assert.Contains(t, err.Error(), "more than 500 items")
			assert.Contains(t, err.Error(), "WithMaxListItems")
			assert.Less(t, took, 5*time.Second)
			lists := 0
			for _, r := range s.Requests() {
				if r.Method == "LIST" {
					lists++
				}
			}
			assert.Equal(t, 1, lists, "an oversized list is not asked again")

			require.NoError(t, list(t.Context(), d), "the next call redials")
			assert.Equal(t, 2, s.Accepted())
		})
	}
}

func TestListCapDefault(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := dial(t, s, ups.WithKeepAlive(0))
	s.Inject(upstest.Fault{Kind: upstest.EndlessList, Verb: "LIST", Times: 1})
	_, err := c.Devices(t.Context())
	assert.ErrorIs(t, err, ups.ErrTooLarge)
	assert.Contains(t, err.Error(), "more than 4096 items")
	assert.Equal(t, 4096, ups.DefaultMaxListItems)
}
