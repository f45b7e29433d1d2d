package command

import (
	"context"
	"io"

	"github.com/thehomelab/homelab/examples/internal/workflow"
	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/secret"
)

// proxmoxFlags are the flags and environment every Proxmox command reads.
type proxmoxFlags struct {
	fs               *flagSet
	url, fingerprint *string
}

const proxmoxEnvHelp = "  env PROXMOX_TOKEN_ID (user@realm!name), PROXMOX_TOKEN_SECRET: a Proxmox VE API token"

func addProxmoxFlags(fs *flagSet) proxmoxFlags {
	return proxmoxFlags{
		fs:          fs,
		url:         fs.String("proxmox", "https://192.168.1.2:8006", "Proxmox VE API URL"),
		fingerprint: fs.String("proxmox-fingerprint", "", "SHA-256 fingerprint of the node's self-signed certificate (AA:BB:…, as the web UI shows it)"),
	}
}

// connect returns a client with the API token, plus the root@pam password
// login when root is true (raw disk passthrough needs it).
func (f proxmoxFlags) connect(ctx context.Context, root bool) (*proxmox.Client, error) {
	fs := f.fs
	id, err := need(fs.getenv, "PROXMOX_TOKEN_ID", "the API token id (user@realm!name)")
	if err != nil {
		return nil, err
	}
	tokenSecret, err := need(fs.getenv, "PROXMOX_TOKEN_SECRET", "the API token secret")
	if err != nil {
		return nil, err
	}
	opts := []proxmox.Option{proxmox.WithAPIToken(id, secret.New(tokenSecret))}
	if root {
		pw, err := need(fs.getenv, "PROXMOX_ROOT_PASSWORD", "root@pam's password (PVE allows raw disk passthrough to root@pam only)")
		if err != nil {
			return nil, err
		}
		opts = append(opts, proxmox.WithCredentials("root@pam", secret.New(pw)))
	}
	if *f.fingerprint != "" {
		opts = append(opts, proxmox.WithFingerprint(*f.fingerprint))
	}
	c, err := proxmox.NewClient(*f.url, append(opts, proxmox.WithLogger(Logger(ctx)))...)
	if err != nil {
		return nil, clientError(err, proxmox.ErrInvalid)
	}
	return c, nil
}

// Inventory lists the Proxmox cluster.
func Inventory() Command {
	return Command{
		Name:    "inventory",
		Summary: "list the Proxmox nodes, guests and storage",
		Run:     runInventory,
	}
}

func runInventory(ctx context.Context, out, errOut io.Writer, args []string, env Env) error {
	fs := newFlags("inventory", out, errOut, env, "inventory [-proxmox URL] [-proxmox-fingerprint FP]\n"+proxmoxEnvHelp)
	p := addProxmoxFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	c, err := p.connect(ctx, false)
	if err != nil {
		return err
	}
	defer c.Close()
	workflow.Title(out, "Inventory of %s", *p.url)
	_, err = workflow.Inventory(ctx, out, c)
	return err
}

// Passthrough passes host disks through to a VM.
func Passthrough() Command {
	return Command{
		Name:    "passthrough",
		Summary: "pass host disks through to a VM by serial number (/dev/disk/by-id)",
		Run:     runPassthrough,
	}
}

func runPassthrough(ctx context.Context, out, errOut io.Writer, args []string, env Env) error {
	fs := newFlags("passthrough", out, errOut, env, "passthrough [-proxmox URL] -vm nas -disks SERIAL1,SERIAL2\n"+proxmoxEnvHelp+
		"\n  env PROXMOX_ROOT_PASSWORD: root@pam's password (PVE allows raw disks to root@pam only)")
	p := addProxmoxFlags(fs)
	vm := fs.String("vm", "nas", "name of the VM receiving the disks")
	disks := fs.String("disks", "", "comma-separated disk serial numbers (or /dev/disk/by-id names)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if len(list(*disks)) == 0 {
		return usageError("-disks is required")
	}
	c, err := p.connect(ctx, true)
	if err != nil {
		return err
	}
	defer c.Close()
	workflow.Title(out, "Passthrough to %s on %s", *vm, *p.url)
	return workflow.Passthrough(ctx, out, c, *vm, list(*disks))
}

// Shutdown shuts the Proxmox guests down in order.
func Shutdown() Command {
	return Command{
		Name:    "shutdown",
		Summary: "ordered shutdown of the Proxmox guests (prints the plan; -dry-run=false runs it)",
		Run:     runShutdown,
	}
}

func runShutdown(ctx context.Context, out, errOut io.Writer, args []string, env Env) error {
	fs := newFlags("shutdown", out, errOut, env, "shutdown [-proxmox URL] [-last nas] [-node] [-dry-run=false]\n"+proxmoxEnvHelp+
		"\n  -dry-run is on by default: the plan is printed and nothing stops; -dry-run=false shuts down")
	p := addProxmoxFlags(fs)
	last := fs.String("last", "nas", "comma-separated guests (names or vmids) that go down after all others")
	node := fs.Bool("node", false, "power the node off after the guests")
	dryRun := fs.Bool("dry-run", true, "only print the plan; -dry-run=false really shuts down")
	if err := parse(fs, args); err != nil {
		return err
	}
	c, err := p.connect(ctx, false)
	if err != nil {
		return err
	}
	defer c.Close()
	workflow.Title(out, "Ordered shutdown on %s", *p.url)
	pr := newProgress(out)
	defer pr.done()
	return workflow.Shutdown(ctx, pr, c, workflow.ShutdownConfig{Last: list(*last), Node: *node, DryRun: *dryRun, OnEvent: pr.shutdownEvent})
}
