package proxmox

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseConfigText(t *testing.T) {
	text := "#first\n#second\narch: amd64\r\nrootfs: tank:subvol-101-disk-0,size=8G\nmp0: tank:subvol-101-disk-1,mp=/data,backup=1,size=4G\n" +
		"not a line\n\n[vzdump]\nmp1: tank:subvol-101-disk-2,mp=/x,size=1G\n"
	raw := parseConfigText(text)
	assert.Equal(t, rawConfig{"description": "first\nsecond", "arch": "amd64", "rootfs": "tank:subvol-101-disk-0,size=8G",
		"mp0": "tank:subvol-101-disk-1,mp=/data,backup=1,size=4G"}, raw, "a [section] is not the current config")
	assert.Equal(t, rawConfig{}, parseConfigText(""))
}
