// Package npm is a client for the REST API of Nginx Proxy Manager (NPM)
// 2.x, the reverse proxy in front of every web app of the lab: one proxy
// host per FQDN (nextcloud.thehomelab.site → nextcloud:80), Let's Encrypt
// certificates by Cloudflare DNS challenge, access lists.
//
// Create a client with NewClient. The base URL is "http://host:81" on a
// standard install (the default path /api is filled in: the bundled nginx
// maps /api onto the backend) and "http://host:3000/" for a bare backend
// (the slash says "the root"). WithCredentials is required:
//
//	c, err := npm.NewClient("http://npm.lan:81",
//		npm.WithCredentials("admin@thehomelab.site", secret.New(pw)))
//
// The options are the SDK's: WithTimeout bounds a call whose ctx has no
// deadline (30 s by default, retries included), WithRetries, WithLogger,
// WithFingerprint and WithRootCAs (https:// only), WithHTTPClient; a nil
// option is skipped.
//
// The client logs in on first use, refreshes its token before it expires
// (GET /tokens) and logs in again once if the server reports it expired.
// Accounts with 2FA (2.13.6+) fail with ErrTwoFactor unless WithTOTP
// supplies codes.
//
// Every error is an *Error (the operation; for an API answer the HTTP
// status, the server's code and message) matched with errors.Is against
// the SDK's class sentinels ErrNotFound, ErrAuth, ErrPermission,
// ErrConflict, ErrInvalid, ErrUnavailable and ErrClosed, and this package's
// ErrTwoFactor, ErrNginx and ErrUnsupported. NPM 2.13.0–2.15.1 report
// permission failures as "404 Not Found - <path>"; the client recognises
// them as ErrPermission. Writes whose nginx config fails `nginx -t` succeed
// at the HTTP level; the client reads the host back and returns an error
// wrapping a *NginxError (ErrNginx).
//
// Payloads follow the server's version (probed once with GET /, or set
// with WithVersion): letsencrypt_email only for ≤2.12, key_type from
// 2.13.6, trust_forwarded_proto from 2.14. Booleans are sent as JSON
// true/false to every version: the 2.9–2.11 schemas declare them boolean
// (their ajv also coerces 0/1), while their answers carry 0/1. Answers of
// every version decode: booleans as true/false or 0/1, dates as ISO 8601
// or SQLite's "YYYY-MM-DD HH:MM:SS".
//
// ProxyHosts.Ensure and Expose are idempotent and report what they did as
// every Ensure of the SDK does: the resource as it ends up, an Action
// (Unchanged, Created, Updated) and the Changes, with Changed(). Calls
// that leave server state behind when they fail clean up with a bounded context that outlives a
// cancelled ctx: Expose deletes a host and a certificate it created and
// restores a host it changed; CreateLetsEncrypt deletes the certificate
// row a request without an answer left issuing (NPM keeps running certbot
// after the client hangs up); UploadCustom deletes its empty row. A
// cleanup that fails is part of the returned error.
//
// Package npmtest is an in-process fake NPM for tests.
package npm
