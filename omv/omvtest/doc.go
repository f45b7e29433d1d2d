// Package omvtest is an in-process fake OpenMediaVault server for tests of
// code that uses the omv package (or any other OMV RPC client).
//
// It speaks the real /rpc.php wire protocol: the JSON envelope, HTTP
// statuses 400/401/403/404/500 with OMV's messages, session cookies and
// headers per version (6.x, 7.x, 8.5), idle expiry on a fake clock, roles,
// parameter schemas for the methods it implements, dirty-module bookkeeping
// with applyChanges/revertChanges, background jobs read with
// Exec.getOutput, and Linux MD RAID arrays whose /proc/mdstat and
// `mdadm --detail` texts stay consistent under fault injection.
//
// A new Server is seeded with a small homelab NAS: two SSDs (/dev/sda,
// /dev/sdb) in a clean RAID 1 /dev/md0 with ext4, shared folders and SMB
// shares backups, documents and media, users proxmox and docker (plus the
// admin account) and per-user quotas. It never imports package omv.
//
// It has the harness shape of every fake in the SDK: NewServer (or Start,
// which closes in t.Cleanup), URL, Requests, SetLatency (SetMethodLatency
// for one method), Inject(Fault) with ClearFaults, and an idempotent Close.
// NewServer panics only if it cannot listen, as httptest does.
package omvtest
