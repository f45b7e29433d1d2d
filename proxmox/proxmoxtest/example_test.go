package proxmoxtest_test

import (
	"crypto/tls"
	"fmt"
	"net/http"

	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
)

func ExampleServer_Inject() {
	srv := proxmoxtest.NewServer()
	defer srv.Close()
	// Every node-scoped call now fails like an offline cluster member.
	srv.Inject(proxmoxtest.Unreachable595.On("", "^/nodes/proxmox1/"))
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.CertPool(), MinVersion: tls.VersionTLS12}}}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api2/json/nodes/proxmox1/status", nil)
	req.Header.Set("Authorization", "PVEAPIToken="+proxmoxtest.TokenID+"="+proxmoxtest.TokenSecret)
	resp, err := hc.Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	fmt.Println(len(srv.Requests()), "request recorded")
	// Output:
	// 595 Errors during connection establishment, proxy handshake: Connection refused
	// 1 request recorded
}
