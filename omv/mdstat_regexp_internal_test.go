package omv

import (
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The mdstat patterns compile at start-up in every binary that imports
// omv, so each must stay a small program: a counted repeat such as
// [U_]{1,1000} compiled to thousands of instructions and cost 600 KB and
// 11 ms at start-up. Bounds are checked in code instead.
func TestMDStatPatternsAreSmall(t *testing.T) {
	for _, re := range []*regexp.Regexp{reDevLine, reMember, reSlots, reUp, reNear, reProgress, rePending,
		reProgressLine, rePendingLine, reBitmapLine} {
		parsed, err := syntax.Parse(re.String(), syntax.Perl)
		require.NoError(t, err)
		prog, err := syntax.Compile(parsed.Simplify())
		require.NoError(t, err)
		assert.Less(t, len(prog.Inst), 300, "pattern %s", re)
	}
}

// A [U_] map longer than maxUpMap is not believed: the array's verdict is
// unknown, and no slot list of that length is built.
func TestParseMDStatUpMapBound(t *testing.T) {
	mdstat := func(n int) []byte {
		return []byte("Personalities : [raid1]\nmd0 : active raid1 sdb[1] sda[0]\n      100 blocks super 1.2 [" +
			strconv.Itoa(n) + "/" + strconv.Itoa(n) + "] [" + strings.Repeat("U", n-1) + "_]\n\nunused devices: <none>\n")
	}
	got, err := ParseMDStat(mdstat(maxUpMap))
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, []int{maxUpMap - 1}, got[0].Missing)

	got, _ = ParseMDStat(mdstat(maxUpMap + 1))
	require.Len(t, got, 1)
	assert.Empty(t, got[0].Missing)
	assert.Equal(t, RAIDUnknown, got[0].State)
}
