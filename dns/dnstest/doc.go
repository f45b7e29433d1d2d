// Package dnstest is an in-process fake of the Cloudflare API v4 subset the
// dns package uses, shaped like net/http/httptest: NewServer starts it on
// 127.0.0.1, Close stops it, URL is where clients point.
//
// It serves /client/v4 with Cloudflare's response envelope (success, errors,
// messages, result, result_info): zones (list, filter by name), dns_records
// (list with type/name/content/comment filters and pagination, get, create,
// patch, put, delete) and user/tokens/verify. It enforces per-token
// permissions (a token without any zone permission gets 403 on the zone
// listing, as on Cloudflare), validates records the way Cloudflare does (codes 81044,
// 81053, 81054, 81057, 81058, 9109, 1003, 1000, 10000, 9005, 9021, 9004),
// logs every request (Requests, each naming its Endpoint), and can inject
// latency (SetLatency), a rate limiter answering 429 with Retry-After, and
// faults (Inject: 500, success:false on 200, dropped connection, 429).
// Start(t) is NewServer closed in t.Cleanup.
//
// The server is seeded with the zone thehomelab.site and the token
// SeedToken, which holds every permission. It never imports package dns: it
// builds its wire data from its own types, so a wrong JSON tag in the client
// cannot pass by agreeing with itself.
package dnstest
