package dnstest_test

import (
	"fmt"
	"io"
	"net/http"

	"github.com/thehomelab/homelab/dns/dnstest"
)

func ExampleNewServer() {
	srv := dnstest.NewServer()
	defer srv.Close()
	srv.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: "A", Name: "vpn.thehomelab.site", Content: "203.0.113.10"})
	srv.Inject(dnstest.Fault{Endpoint: dnstest.EndpointListZones, Kind: dnstest.Fail500, Times: 1})

	get := func() int {
		req, _ := http.NewRequest("GET", srv.BaseURL()+"/zones?name=thehomelab.site", nil)
		req.Header.Set("Authorization", "Bearer "+dnstest.SeedToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	fmt.Println(get(), get())
	fmt.Println(len(srv.Requests()), len(srv.Records("vpn.thehomelab.site")))
	// Output:
	// 500 200
	// 2 1
}
