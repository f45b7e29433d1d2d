// Package omv is a client for the OpenMediaVault JSON-RPC API (/rpc.php) of
// OMV 6.x, 7.x and 8.x, with typed operations for the things a homelab NAS
// needs: configuration apply, disks and SMART, Linux MD RAID with a health
// verdict per array, filesystems, shared folders, SMB shares, users, groups
// and quotas, and [Client.ProvisionShare], which composes them into one
// idempotent call.
//
// It follows the SDK's vocabulary:
//
//   - NewClient(baseURL, WithCredentials(user, secret.New(pw)), …): the
//     options are the SDK's (WithTimeout, WithRetries, WithPollInterval,
//     WithLogger, WithFingerprint, WithRootCAs, WithHTTPClient); nil
//     options are skipped; "/rpc.php" is filled in.
//   - Ensure calls (c.SharedFolders.Ensure, c.Users.Ensure,
//     c.Users.EnsureGroup, c.SMB.EnsureShare) return a result with the
//     resource, Action and Changes, and Changed().
//   - Background work: c.Config.StartApply and c.Filesystems.StartCreate
//     return a *Job with Wait and Log; Apply and Create are Start then Wait.
//   - Errors are *Error, matched by class with errors.Is (ErrNotFound,
//     ErrAuth, ErrPermission, ErrConflict, ErrInvalid, ErrUnavailable,
//     ErrClosed) plus ErrDirty, ErrTimeout and ErrJobFailed.
//
// The client logs in with a user name and password, keeps the session
// (cookie on 6.x, header on 7.x and later, detected from the login reply) and
// logs in again once when OMV reports "Session expired." or "Session not
// authenticated.". Errors are classified by HTTP status, because OMV sets the
// error code to 0 for nearly everything; see [Error] and the Err sentinels.
//
// The RAID parsers [ParseMDStat] and [ParseDetail] are pure functions over
// /proc/mdstat and `mdadm --detail` text, so a health check can also be fed
// text read over SSH.
//
// Package omvtest provides an in-process fake OMV server for tests.
package omv
