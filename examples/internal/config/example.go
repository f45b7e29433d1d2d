package config

// Example is a commented homelab.yaml for the seed's lab: a MikroTik on
// 192.168.1.1, the Proxmox node proxmox1 with the NAS VM (OpenMediaVault)
// and the docker LXC, Nginx Proxy Manager, a NUT UPS, and the zone
// thehomelab.site. homelab config example prints it; config check accepts
// it as it is.
const Example = `# homelab.yaml: the lab, described once. Every homelab subcommand reads it:
#   homelab -config FILE, $HOMELAB_CONFIG, ./homelab.yaml, ~/.config/homelab/homelab.yaml
# Secrets are never in this file and never on the command line. Each is read from
#   password_file: (or token_file:)   a file holding only the secret (relative to this file),
#   $CREDENTIALS_DIRECTORY/<name>     systemd's LoadCredential= (names below), or
#   an environment variable           (names below; password_env: / token_env: changes it).
# homelab trust URL|HOST:PORT prints a self-signed certificate's fingerprint to pin.
# homelab config check validates this file.

router:                             # MikroTik RouterOS API
  address: 192.168.1.1:8729         # API-SSL; 8728 is the plain API
  tls: true
  # fingerprint: sha256:AA:BB:...   # pin the router's self-signed certificate (implies tls)
  user: homelab                     # a RouterOS group with read,write,api,test
  wan_interface: pppoe-out1
  wireguard_interface: wireguard1
  # password: $ROUTEROS_PASSWORD or credential router-password

proxmox:                            # Proxmox VE
  url: https://192.168.1.10:8006    # /api2/json is added
  # fingerprint: sha256:AA:BB:...   # homelab trust https://192.168.1.10:8006
  token_id: homelab@pve!cli
  # token secret: $PROXMOX_TOKEN_SECRET or credential proxmox-token

nas:                                # OpenMediaVault, the VM "nas" on proxmox1
  url: https://192.168.1.20         # /rpc.php is added
  # fingerprint: sha256:AA:BB:...
  user: admin
  # password: $OMV_PASSWORD or credential nas-password

npm:                                # Nginx Proxy Manager, in the LXC "docker"
  url: http://192.168.1.30:81       # /api is added
  user: admin@thehomelab.site
  # password: $NPM_PASSWORD or credential npm-password

nut:                                # the UPS's upsd
  address: 192.168.1.10:3493
  ups: ups                          # upsc ups@192.168.1.10
  user: upsmon
  starttls: false                   # true once upsd has CERTFILE
  # fingerprint: sha256:AA:BB:...   # pin upsd's certificate (implies starttls)
  # password: $NUT_PASSWORD or credential nut-password

cloudflare:
  zone: thehomelab.site
  names: [vpn.thehomelab.site]      # kept on the router's public address (DDNS)
  # token: $CLOUDFLARE_API_TOKEN or credential cloudflare-token (Zone.DNS edit on the zone)

smtp:                               # where alerts go
  host: smtp.thehomelab.site
  port: 587
  from: homelab@thehomelab.site
  to: [admin@thehomelab.site]
  user: homelab@thehomelab.site
  # password: $SMTP_PASSWORD or credential smtp-password

lab:
  node: proxmox1
  nas_guest: nas
  guests: [docker]
  shares: [backups, documents, media]
  networks:
    lan: 192.168.1.0/24
    vpn: 192.168.100.0/24
    guest: 10.1.1.0/24
  isolate:                          # networks that must not reach each other
    - guest -> lan
`
