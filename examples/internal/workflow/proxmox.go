package workflow

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/thehomelab/homelab/proxmox"
)

// Inventory prints the cluster at one moment: nodes, guests and storage,
// from one GET /cluster/resources.
func Inventory(ctx context.Context, w io.Writer, c *proxmox.Client) (*proxmox.Inventory, error) {
	inv, err := c.Inventory(ctx)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	for _, n := range inv.Nodes {
		say(w, "node  %-14s %s, %d CPUs, %s of %s memory used, up %s", n.Name, n.Status, n.MaxCPU,
			gibU(n.Mem), gibU(n.MaxMem), n.Uptime)
	}
	for _, g := range inv.Guests {
		kind := "vm"
		if g.Type != proxmox.TypeVM {
			kind = "ct"
		}
		say(w, "%s %4d %-14s %s, %d CPUs, %s memory", kind, g.VMID, g.Name, g.Status, g.MaxCPU, gibU(g.MaxMem))
	}
	for _, s := range inv.Storage {
		say(w, "store %-14s %s (%s) %s of %s used", s.ID, s.PluginType, strings.Join(s.Content, ","), gibU(s.Used), gibU(s.Size))
	}
	return inv, nil
}

// Passthrough passes host disks, named by serial number (or any name
// Resolve accepts), through to the VM called vmName by their stable
// /dev/disk/by-id path. Disks already attached are left alone; the node's
// own disks are refused by the package.
func Passthrough(ctx context.Context, w io.Writer, c *proxmox.Client, vmName string, disks []string) error {
	vm, err := c.Guests.Find(ctx, vmName)
	if err != nil {
		return fmt.Errorf("passthrough: %w", err)
	}
	for _, d := range disks {
		a, err := c.Disks.Attach(ctx, vm.GuestRef, d, proxmox.AttachOptions{})
		if err != nil {
			return fmt.Errorf("passthrough: %w", err)
		}
		if !a.Changed() {
			say(w, "%s already on %s as %s", d, vm.GuestRef, a.Key)
			continue
		}
		say(w, "%s (%s %s) attached to %s as %s", d, a.Disk.Model, a.Disk.DevPath, vm.GuestRef, a.Key)
		say(w, "  %s=%s", a.Key, a.Value)
	}
	return nil
}

// ShutdownConfig selects what an ordered shutdown does.
type ShutdownConfig struct {
	// Last names the guests that go down after all others, e.g. the NAS
	// the others keep their data on.
	Last []string
	// Node powers the nodes off after the guests.
	Node bool
	// DryRun only prints the plan.
	DryRun bool
	// OnEvent, when set, receives every event of the shutdown after the
	// story's line (progress display).
	OnEvent func(proxmox.Event)
}

// Shutdown plans the ordered shutdown of every running guest (reverse
// startup order, cfg.Last at the end, then the node) and runs it unless
// cfg.DryRun. It prints the plan first and every step as it happens. The
// plan's execution is bounded by planBudget, whatever ctx.
func Shutdown(ctx context.Context, w io.Writer, c *proxmox.Client, cfg ShutdownConfig) error {
	plan, err := c.Power.PlanShutdown(ctx, proxmox.PlanOptions{Last: cfg.Last, ShutdownNodes: cfg.Node})
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(plan.String()), "\n") {
		say(w, "%s", line)
	}
	if cfg.DryRun {
		say(w, "dry run: nothing was stopped")
		return nil
	}
	// The plan bounds itself: a caller that detached ctx (a shutdown
	// that must survive SIGTERM) still ends.
	ctx, cancel := context.WithTimeout(ctx, planBudget(plan))
	defer cancel()
	res, err := c.Power.Apply(ctx, plan, proxmox.ApplyOptions{OnEvent: func(e proxmox.Event) {
		switch e.Kind {
		case proxmox.EventGuestDone:
			say(w, "  %s (%s): %s", e.Guest, e.Name, e.Outcome)
		case proxmox.EventForceStop:
			say(w, "  %s (%s): timeout passed, force-stopping", e.Guest, e.Name)
		case proxmox.EventGuestFail:
			say(w, "  %s (%s): FAILED: %v", e.Guest, e.Name, e.Err)
		case proxmox.EventNode:
			say(w, "  node %s: shutting down", e.Node)
		}
		if cfg.OnEvent != nil {
			cfg.OnEvent(e)
		}
	}})
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if len(res.Failed) > 0 {
		return fmt.Errorf("shutdown: %d guests failed", len(res.Failed))
	}
	say(w, "done: %d guests handled", len(res.Outcomes))
	return nil
}

// planGrace is what each step of a plan may take beyond its guests'
// clean-shutdown timeouts: the force-stop after the timeout, the tasks'
// polling, a node's own power-off.
const planGrace = time.Minute

// planBudget is the longest a shutdown plan may take: its groups run one
// after another, the guests of a group in parallel, each group as long as
// its slowest guest's timeout, plus planGrace per group and for the nodes.
func planBudget(p proxmox.PowerPlan) time.Duration {
	total := planGrace // the nodes
	for _, g := range p.Groups {
		var longest time.Duration
		for _, s := range g.Steps {
			longest = max(longest, s.Timeout)
		}
		total += longest + planGrace
	}
	return total
}

func gibU(b uint64) string {
	return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
}
