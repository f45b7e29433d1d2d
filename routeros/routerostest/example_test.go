package routerostest_test

import (
	"bufio"
	"fmt"
	"log"
	"net"
	"strings"

	"github.com/thehomelab/homelab/routeros/routerostest"
)

// A test can drive the fake with any RouterOS API client; here the raw
// wire, using the package's codec.
func ExampleServer() {
	srv := routerostest.NewServer(routerostest.WithVersion("7.18"))
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	call := func(words ...string) {
		if _, err := conn.Write(routerostest.AppendSentence(nil, words...)); err != nil {
			log.Fatal(err)
		}
		for {
			s, err := routerostest.ReadSentence(br, routerostest.MaxWordSize)
			if err != nil {
				log.Fatal(err)
			}
			fmt.Println(strings.Join(s, " "))
			if s[0] == "!done" {
				return
			}
		}
	}
	call("/login", "=name="+routerostest.DefaultUser, "=password="+routerostest.DefaultPassword)
	call("/ip/address/print", "?interface=pppoe-out1", "=.proplist=address", ".tag=1")
	call("/ip/address/print", "?interface=ether5")
	srv.Inject(routerostest.Fault{Times: 1, Kind: routerostest.FaultTrap, Category: 4, Message: "failure: injected"})
	call("/system/identity/print")
	// Output:
	// !done
	// !re =address=203.0.113.45/32 .tag=1
	// !done .tag=1
	// !empty
	// !done
	// !trap =category=4 =message=failure: injected
	// !done
}
