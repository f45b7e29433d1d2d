module github.com/thehomelab/homelab

go 1.25.0

require (
	github.com/go-routeros/routeros/v3 v3.0.1
	github.com/skip2/go-qrcode v0.0.0-20200617195104-da1b6568686e
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/geoffgarside/ber v1.1.0 // indirect
	github.com/goccy/go-json v0.10.5 // indirect
	github.com/google/go-querystring v1.1.0 // indirect
	golang.org/x/crypto v0.32.0 // indirect
	golang.org/x/text v0.21.0 // indirect
	golang.org/x/time v0.9.0 // indirect
)

require (
	github.com/cloudflare/cloudflare-go v0.119.0
	github.com/hirochachacha/go-smb2 v1.1.0
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/net v0.34.0
)
