package upstest_test

import (
	"bufio"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/thehomelab/homelab/ups/upstest"
)

// A scripted outage on an injected clock, read with plain NUT lines (any
// NUT client works the same way against Addr).
func ExampleServer_Play() {
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	srv := upstest.NewServer(upstest.WithClock(clock))
	defer srv.Close()
	srv.AddUPS("ups", "PowerWalker VI 1000 STL", upstest.DefaultVars())
	srv.Play("ups",
		upstest.Step{At: 2 * time.Second, Status: "OB DISCHRG", Vars: map[string]string{"battery.charge": "80"}},
		upstest.Step{At: 5 * time.Second, Status: "OB DISCHRG LB", Vars: map[string]string{"battery.charge": "15"}},
	)

	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	ask := func(line string) {
		fmt.Fprintf(conn, "%s\n", line)
		reply, _ := r.ReadString('\n')
		fmt.Print(reply)
	}
	ask("GET VAR ups ups.status")
	advance(3 * time.Second)
	ask("GET VAR ups ups.status")
	advance(3 * time.Second)
	ask("GET VAR ups ups.status")
	ask("GET VAR ups battery.charge")
	ask("GET VAR nosuch ups.status")
	// Output:
	// VAR ups ups.status "OL"
	// VAR ups ups.status "OB DISCHRG"
	// VAR ups ups.status "OB DISCHRG LB"
	// VAR ups battery.charge "15"
	// ERR UNKNOWN-UPS
}
