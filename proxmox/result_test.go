package proxmox_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/thehomelab/homelab/proxmox"
)

func TestDiffConfig(t *testing.T) {
	t.Parallel()
	have := map[string]string{"cores": "2", "description": "old", "content": "iso,backup", "keep": "x"}
	want := map[string]string{"cores": "4", "description": "", "content": "backup,iso", "onboot": "1", "absent": "", "keep": "x"}
	sameSet := func(k, a, b string) bool { return k == "content" && len(a) == len(b) }
	got := proxmox.DiffConfig(have, want, sameSet)
	assert.Equal(t, []proxmox.Change{
		{Field: "cores", Old: "2", New: "4"},
		{Field: "description", Old: "old"},
		{Field: "onboot", New: "1"},
	}, got)
	var lines []string
	for _, c := range got {
		lines = append(lines, c.String())
	}
	assert.Equal(t, []string{"cores: 2 → 4", "description: removed (was old)", "onboot: set to 1"}, lines)
	assert.Nil(t, proxmox.DiffConfig(have, map[string]string{"cores": "2"}, nil))
	assert.Len(t, proxmox.DiffConfig(have, want, nil), 4, "without same, the list order counts")
}

func TestActionString(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "unchanged", proxmox.Action(0).String())
	assert.Equal(t, "created", proxmox.Created.String())
	assert.Equal(t, "updated", proxmox.Updated.String())
	assert.Equal(t, "deleted", proxmox.Deleted.String())
	assert.Equal(t, "action(9)", proxmox.Action(9).String())
}
