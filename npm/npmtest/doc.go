// Package npmtest is an in-process fake of the Nginx Proxy Manager 2.x
// REST API for tests, shaped like net/http/httptest:
//
//	srv := npmtest.Start(t) // or NewServer, then Close
//	c, _ := npm.NewClient(srv.URL, npm.WithCredentials(npmtest.AdminEmail, secret.New(npmtest.AdminPassword)))
//
// Like every fake of the SDK it records the requests it receives
// (Requests), delays its answers (SetLatency) and fails on demand
// (Inject a Fault). It routes with http.ServeMux method and path patterns,
// one per upstream route.
//
// It behaves like NPM 2.15.1 by default (WithVersion selects 2.11–2.14
// behaviour: ≤2.11 answers booleans as 0/1 and words validation errors as
// ajv 6 did, one error, "data.x should …") and reproduces the server's quirks: bearer tokens with a TTL
// on an injectable clock, refresh via GET /tokens, optional 2FA, the
// 403-vs-"404 Not Found - <path>" permission answers, ajv-style validation
// (additionalProperties:false, minProperties:1 on PUT, type coercion,
// messages joined by ", "), the cross-type duplicate-domain check, sorted
// domains and SSL/HSTS flag rewrites, soft delete, ?expand=, enable/disable
// state errors, a simulated `nginx -t` with a failure hook (FailNginx)
// that, as upstream (issue #5806), judges a 404 host's update by the row
// as it was before,
// synchronous Let's Encrypt issuance with latency and failure injection
// (SetCertificateLatency, FailCertificates) that never serves DNS
// credentials, and that can go on after the client hangs up as upstream's
// does (DetachIssuance).
//
// The server is seeded with the lab (Seed): 11 proxy hosts on
// thehomelab.site behind a wildcard certificate, a "lan-only" access list,
// a redirection host and the Transmission stream. It listens on 127.0.0.1
// only and never imports package npm: its wire data comes from its own
// types.
package npmtest
