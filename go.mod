module github.com/thehomelab/homelab

go 1.25.0

require (
	github.com/cloudflare/cloudflare-go/v6 v6.10.0
	github.com/luthermonson/go-proxmox v0.10.0
	github.com/stretchr/testify v1.12.1
	golang.org/x/crypto v0.32.0
	golang.org/x/term v0.28.0
)

require (
	github.com/geoffgarside/ber v1.1.0 // indirect
	github.com/tidwall/gjson v1.14.4 // indirect
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.2.1 // indirect
	github.com/tidwall/sjson v1.2.5 // indirect
	golang.org/x/text v0.21.0 // indirect
)

require (
	github.com/buger/goterm v1.0.4 // indirect
	github.com/diskfs/go-diskfs v1.9.3 // indirect
	github.com/djherbis/times v1.6.0 // indirect
	github.com/go-routeros/routeros/v3 v3.0.1
	github.com/gorilla/websocket v1.4.2 // indirect
	github.com/hirochachacha/go-smb2 v1.1.0
	github.com/jinzhu/copier v0.3.4 // indirect
	github.com/magefile/mage v1.14.0 // indirect
	github.com/skip2/go-qrcode v0.0.0-20200617195104-da1b6568686e
	go.yaml.in/yaml/v3 v3.0.5
	golang.org/x/net v0.34.0
	golang.org/x/sys v0.43.0 // indirect
)
