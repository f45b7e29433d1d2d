package routeros

// Unexported helpers, exported to the external tests (fuzzers, examples).
var (
	ParseBool     = parseBool
	FormatBool    = formatBool
	ParseDuration = parseDuration
	ParsePrefix   = parsePrefix
	ParsePrefixes = parsePrefixes
	ParseClock    = parseClock
	ParseTime     = parseTime
	ParseVersion  = parseVersion
)

// RoundTrips returns how many request/reply exchanges c has made.
func RoundTrips(c *Client) int64 { return c.roundTrips() }
