module github.com/thehomelab/homelab

go 1.25.0

require (
	github.com/hirochachacha/go-smb2 v1.1.0
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/geoffgarside/ber v1.1.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/crypto v0.0.0-20200728195943-123391ffb6de // indirect
)
