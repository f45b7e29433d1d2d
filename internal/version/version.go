// Package version holds the SDK version sent in User-Agent headers.
package version

// Version is the SDK's version. It is a constant so the library reads no
// build-time state.
const Version = "0.1.0-dev"

// UserAgent is the User-Agent value every HTTP client of the SDK sends.
const UserAgent = "homelab/" + Version
