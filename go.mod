module github.com/thehomelab/homelab

go 1.25.0

require (
	github.com/hirochachacha/go-smb2 v1.1.0
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/goccy/go-json v0.10.5 // indirect
	github.com/google/go-querystring v1.1.0 // indirect
	golang.org/x/text v0.21.0 // indirect
	golang.org/x/time v0.9.0 // indirect
)

require (
	github.com/cloudflare/cloudflare-go v0.119.0
	github.com/geoffgarside/ber v1.1.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/crypto v0.32.0 // indirect
	golang.org/x/net v0.34.0
)
