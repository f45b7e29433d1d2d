package omvtest_test

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/thehomelab/homelab/omv/omvtest"
)

// Inject a RAID fault and read the /proc/mdstat text the fake host shows;
// RaidMgmt.getDetail reports the same state.
func ExampleServer_FailMember() {
	srv := omvtest.NewServer(omvtest.WithVersion(omvtest.V7))
	defer srv.Close()
	_ = srv.FailMember("md0", "sdb")
	for _, line := range strings.Split(srv.MDStat(), "\n")[1:3] {
		fmt.Println(line)
	}
	detail, _ := srv.Detail("md0")
	for _, line := range strings.Split(detail, "\n") {
		if strings.Contains(line, "State :") || strings.Contains(line, "faulty") {
			fmt.Println(strings.TrimSpace(line))
		}
	}
	// Output:
	// md0 : active raid1 sdb[1](F) sda[0]
	//       976630464 blocks super 1.2 [2/1] [U_]
	// State : clean, degraded
	// 1       8      16        -      faulty   /dev/sdb
}

// The harness shape every fake of the SDK shares: Start (closed in
// t.Cleanup), URL, Requests, SetLatency and Inject.
func ExampleServer_Inject() {
	srv := omvtest.NewServer()
	defer srv.Close()
	srv.Inject(omvtest.Fault{RPC: "Session.login", Status: 503, Message: "maintenance", Times: 1})
	for range 2 {
		resp, err := http.Post(srv.URL+"/rpc.php", "application/json",
			strings.NewReader(`{"service":"Session","method":"login","params":{"username":"admin","password":"openmediavault"}}`))
		if err != nil {
			panic(err)
		}
		_ = resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	for _, r := range srv.Requests() {
		fmt.Println(r.Method, r.Path, r.RPC)
	}
	// Output:
	// 503
	// 200
	// POST /rpc.php Session.login
	// POST /rpc.php Session.login
}
