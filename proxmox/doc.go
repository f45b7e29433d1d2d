// Package proxmox is a typed client for the Proxmox VE API, built on
// github.com/luthermonson/go-proxmox with the fixes a homelab needs.
//
// Every non-2xx reply becomes an *Error (status, reason, message,
// per-parameter errors) matching ErrNotFound, ErrAuth, ErrPermission,
// ErrNodeUnreachable and friends; go-proxmox alone reports some of them,
// such as a 596 with an empty body, as success. Query strings and form
// bodies are built here with 1/0 booleans and plain decimal integers.
// Tasks are waited for with backoff that honours the context, and a task
// ending with anything but "OK" or "WARNINGS: n" is an error.
//
// A Client can hold an API token and a root@pam password login at once;
// the operations PVE reserves for the literal user root@pam (raw disk
// passthrough, LXC keyctl, bind mounts) use the login, or fail with
// ErrRootRequired before anything is sent.
//
// Typed operations cover inventory (one GET /cluster/resources for every
// guest and storage), guest lifecycle with idempotent outcomes, ordered
// shutdown and start-up plans, disk passthrough, LXC containers, CIFS
// storage and backup primitives. The sibling package proxmoxtest is a
// fake PVE for tests.
package proxmox
