package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/thehomelab/homelab/examples/internal/command"
	"github.com/thehomelab/homelab/examples/internal/config"
)

// runConfig is homelab config check|example.
func runConfig(_ context.Context, args []string, out, errOut io.Writer, env command.Env) int {
	if len(args) == 0 || isHelp(args[0]) {
		w := errOut
		if len(args) > 0 {
			w = out
		}
		configUsage(w)
		if len(args) == 0 {
			return command.ExitUsage
		}
		return command.ExitOK
	}
	switch args[0] {
	case "example":
		if len(args) > 1 {
			fmt.Fprintf(errOut, "homelab config example: unexpected arguments %q\n", args[1:])
			return command.ExitUsage
		}
		fmt.Fprint(out, config.Example)
		return command.ExitOK
	case "check":
		fs := flag.NewFlagSet("config check", flag.ContinueOnError)
		fs.SetOutput(errOut)
		path := fs.String("config", "", "the config file (default: $HOMELAB_CONFIG, ./homelab.yaml, ~/.config/homelab/homelab.yaml)")
		if err := fs.Parse(args[1:]); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return command.ExitOK
			}
			return command.ExitUsage
		}
		if fs.NArg() > 0 {
			fmt.Fprintf(errOut, "homelab config check: unexpected arguments %q\n", fs.Args())
			return command.ExitUsage
		}
		c, err := config.Load(*path, config.Env(env))
		var ce *config.Error
		if errors.As(err, &ce) {
			// One problem a line, each "file:line: …" as compilers print.
			fmt.Fprintln(errOut, err)
			return command.ExitUsage
		}
		if err != nil {
			fmt.Fprintf(errOut, "homelab config check: %v\n", err)
			return command.ExitUsage
		}
		for _, n := range c.Notes {
			fmt.Fprintf(errOut, "%s: note: %s\n", c.Path, n)
		}
		fmt.Fprintf(out, "%s: ok (%s)\n", c.Path, describe(c))
		return command.ExitOK
	default:
		fmt.Fprintf(errOut, "homelab config: unknown subcommand %q\n", args[0])
		configUsage(errOut)
		return command.ExitUsage
	}
}

func configUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: homelab config check [-config FILE]   validate the config (exit 2 on errors, each with its line)")
	fmt.Fprintln(w, "       homelab config example                print a commented example of the lab's config")
}

// describe lists the devices a config holds.
func describe(c *config.Config) string {
	var s []string
	add := func(ok bool, name string) {
		if ok {
			s = append(s, name)
		}
	}
	add(c.Router != nil, "router")
	add(c.Proxmox != nil, "proxmox")
	add(c.NAS != nil, "nas")
	add(c.NPM != nil, "npm")
	add(c.NUT != nil, "nut")
	add(c.Cloudflare != nil, "cloudflare")
	add(c.SMTP != nil, "smtp")
	if len(s) == 0 {
		return "no devices"
	}
	return fmt.Sprint(s)
}
