// Package proxmoxtest is an in-process fake of the Proxmox VE API for
// tests: an httptest TLS server on 127.0.0.1 that speaks PVE's real wire
// protocol and checks every request against the PVE 9 API schema.
//
// It implements token and ticket authentication (CSRF, TOTP, renewal,
// expiry), the root@pam-only rules (raw disk paths, LXC feature flags,
// bind mounts), strict 1/0 booleans and unknown-parameter rejection, an
// async task engine with real UPIDs and logs, guest state machines with
// PVE's VM/CT asymmetries, host disks with PVE's mixed JSON types, storage
// (CIFS create with a write-only password), vzdump producing backup
// volumes (each keeping the guest config of when it was made, which GET
// /nodes/{node}/vzdump/extractconfig returns as the archive's config),
// content listing, notes and protection, and prune with PVE's exact
// retention rules, HA-managed guests (/cluster/ha/resources, hastate,
// the hastart/hastop tasks that only queue a request) and a version knob
// (WithVersion) that refuses parameters newer than the release it plays.
//
// The harness is the SDK's one shape: NewServer (or Start, which closes in
// t.Cleanup), URL, Requests, SetLatency, Inject(Fault) with ClearFaults,
// and an idempotent Close. Faults (595, 596, 500, slow, dropped
// connection, a replaced body) are aimed by method and path; routing is an
// http.ServeMux with PVE's method+path patterns.
//
// A new Server is seeded with a small homelab (unless WithoutLab): node
// proxmox1 with VM 100 "nas" (startup order 1), LXC 101
// "docker" (order 2), VM 102 "homeassistant" (no order), storages local,
// local-lvm and the CIFS storage "backups", an NVMe OS disk, three SATA
// SSDs, an HDD and a USB stick.
//
// What the fake does not model it answers with HTTP 501, as PVE's own
// router does for a path it has no handler for, with a message saying so;
// no test can mistake such an answer for PVE's:
//   - POST /nodes/{node}/qemu without archive=: real PVE creates a new VM
//     from the given options, allocating its disks (qemu-server
//     src/PVE/API2/Qemu.pm create_vm, worker qmcreate, create_disks). The
//     SDK creates no VMs, only restores them, so the fake serves the
//     archive= path (containers it creates from templates, vzcreate).
//   - HA-managed guests: qemu-server's vm_start answers with an hastart
//     task and vm_stop and vm_shutdown with hastop tasks that only queue a
//     request to the HA manager (src/PVE/API2/Qemu.pm, the
//     vm_is_ha_managed branches); vm_reboot acts on the guest directly.
//     The fake models exactly these; any other power command routed to
//     its HA path gets the 501 (a guard: no route leads there today).
//
// The package does not import the proxmox SDK: it builds its replies from
// its own types, so a wrong JSON tag in the client cannot pass a test by
// agreeing with itself.
package proxmoxtest
