// Package proxmox is a typed client for the Proxmox VE API, built on
// github.com/luthermonson/go-proxmox with the fixes a homelab needs.
//
// It follows the SDK's vocabulary:
//
//   - Construction: NewClient(baseURL, opts...) with WithAPIToken and/or
//     WithCredentials (root@pam by ticket, optionally WithTOTP),
//     WithFingerprint or WithRootCAs, WithTimeout (30 s per call, retries
//     included), WithRetries, WithPollInterval, WithLogger, WithHTTPClient.
//     Nil options are skipped; a client without credentials is refused.
//   - Services: c.Nodes, c.Guests (Get, Find, Config, Start, Shutdown …),
//     c.Power, c.Disks, c.Containers, c.Storage, c.Backups and c.Tasks; c.Do
//     is the escape hatch for endpoints the package does not cover.
//   - Idempotent calls (Backups.EnsureJob, Storage.EnsureCIFS,
//     Guests.Update, Disks.Attach …) return a result with Action, Changes
//     and Changed(); DiffConfig is the comparison they share.
//   - Plans: Power.PlanShutdown and PlanStartUp return a printable
//     PowerPlan and change nothing; Power.Apply executes one, reporting
//     progress to ApplyOptions.OnEvent.
//   - Background work: Backups.StartVzdump returns a *Vzdump and
//     c.Tasks.Task(upid) a *Task, each with Wait(ctx) and Log(ctx); Vzdump
//     is Start then Wait.
//   - Errors: every error is an *Error (Op, StatusCode, Code, Message …)
//     matching the class sentinels ErrNotFound, ErrAuth, ErrPermission,
//     ErrConflict, ErrInvalid, ErrUnavailable and ErrClosed, plus
//     ErrNodeUnreachable, ErrRootRequired, ErrTaskFailed and ErrTimeout.
//
// Every non-2xx reply becomes an *Error; go-proxmox alone reports some of
// them, such as a 596 with an empty body, as success. Query strings and
// form bodies are built here with 1/0 booleans and plain decimal integers.
// Tasks are waited for with backoff that honours the context, and a task
// ending with anything but "OK" or "WARNINGS: n" is an error.
//
// A Client can hold an API token and a root@pam password login at once;
// the operations PVE reserves for the literal user root@pam (raw disk
// passthrough, LXC keyctl, bind mounts) use the login, or fail with
// ErrRootRequired before anything is sent.
//
// The sibling package proxmoxtest is a fake PVE for tests.
package proxmox
