package homelab

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestVocabularyUPS holds ups to what issue 11 asks of it beyond the shared
// checks: the class sentinels plus the few a user acts on (not one per NUT
// code: those are Code constants), no exported test-only wire helpers, the
// fingerprint error reachable, background work as Start + handle.
func TestVocabularyUPS(t *testing.T) {
	t.Parallel()
	p := loadPackage(t, "ups")
	vars := exportedVars(p)
	allowed := map[string]bool{"ErrUnknownUPS": true, "ErrDataStale": true, "ErrDriverNotConnected": true, "ErrAccessDenied": true, "ErrTooLarge": true}
	for _, s := range classSentinels {
		allowed[s] = true
	}
	for name := range vars {
		if len(name) > 3 && name[:3] == "Err" {
			assert.True(t, allowed[name], "ups exports %s: a NUT code is a Code constant, not a sentinel", name)
		}
	}
	fs := funcs(p)
	for _, name := range []string{"Quote", "SplitLine", "NewSecret", "Device.Run", "Device.RunParam"} {
		assert.NotContains(t, fs, name)
	}
	for _, name := range []string{"Device.StartInstCmd", "Device.InstCmd", "Job.Wait", "Job.Log", "ParseStatus", "WithCredentials", "WithTimeout", "WithLogger"} {
		assert.Contains(t, fs, name)
	}
	types := map[string]bool{}
	for _, ty := range p.Types {
		types[ty.Name] = true
	}
	for _, name := range []string{"FingerprintMismatchError", "Code", "Error", "Event", "EventKind"} {
		assert.True(t, types[name], "ups lacks the type %s", name)
	}
}
