// Package backup runs the lab's nightly backups on Proxmox VE: vzdump of
// every guest to the CIFS storage the NAS serves, the two-step backup of the
// NAS VM itself (dump to local storage, copy to the share on the node,
// verify, clean up), retention by Proxmox's own prune rules, off-site copies
// with rclone, verified restores and a mailed report.
//
// It is the one package that imports a sibling: it builds on proxmox.
//
// Work follows the SDK's vocabulary: Plan reads and changes nothing and
// returns a printable plan; Apply executes it with OnEvent progress events
// and returns a Report.
package backup
