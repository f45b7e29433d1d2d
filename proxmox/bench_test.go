package proxmox_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

	goprox "github.com/luthermonson/go-proxmox"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
)

const benchLatency = 5 * time.Millisecond

// bigCluster seeds 10 nodes with 100 guests each (50 VMs, 50 CTs).
func bigCluster(b *testing.B) *proxmoxtest.Server {
	srv := proxmoxtest.NewServer(proxmoxtest.WithoutLab())
	b.Cleanup(srv.Close)
	srv.SetRequestLimit(math.MaxInt32) // count every round trip, however many iterations
	id := 1000
	for n := 1; n <= 10; n++ {
		node := fmt.Sprintf("pve%d", n)
		srv.AddNode(node)
		for i := 0; i < 100; i++ {
			typ := "qemu"
			if i%2 == 1 {
				typ = "lxc"
			}
			srv.AddGuest(proxmoxtest.Guest{VMID: id, Node: node, Type: typ, Name: fmt.Sprintf("g%d", id), Running: i%3 != 0,
				Config: map[string]string{"cores": "2", "memory": "2048", "onboot": "1", "startup": "order=1"}})
			id++
		}
	}
	srv.SetLatency(benchLatency)
	return srv
}

func BenchmarkInventory(b *testing.B) {
	srv := bigCluster(b)
	c := newClient(b, srv)
	ctx := context.Background()
	srv.ResetRequests()
	b.ResetTimer()
	for b.Loop() {
		inv, err := c.Inventory(ctx)
		if err != nil || len(inv.Guests) != 1000 || len(inv.Nodes) != 10 {
			b.Fatalf("inventory: %v", err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(srv.Requests()))/float64(b.N), "roundtrips/op")
}

// BenchmarkInventoryNaiveGoProxmox walks nodes, then guests, then each
// guest's status and config with go-proxmox's typed calls.
func BenchmarkInventoryNaiveGoProxmox(b *testing.B) {
	srv := bigCluster(b)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.CertPool(), MinVersion: tls.VersionTLS12}}}
	gp := goprox.NewClient(srv.URL+"/api2/json", goprox.WithHTTPClient(hc),
		goprox.WithAPIToken(proxmoxtest.TokenID, proxmoxtest.TokenSecret))
	ctx := context.Background()
	srv.ResetRequests()
	b.ResetTimer()
	for b.Loop() {
		guests := 0
		nodes, err := gp.Nodes(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for _, ns := range nodes {
			node, err := gp.Node(ctx, ns.Node)
			if err != nil {
				b.Fatal(err)
			}
			vms, err := node.VirtualMachines(ctx)
			if err != nil {
				b.Fatal(err)
			}
			for _, vm := range vms {
				if _, err := node.VirtualMachine(ctx, int(vm.VMID)); err != nil {
					b.Fatal(err)
				}
				guests++
			}
			cts, err := node.Containers(ctx)
			if err != nil {
				b.Fatal(err)
			}
			for _, ct := range cts {
				if _, err := node.Container(ctx, int(ct.VMID)); err != nil {
					b.Fatal(err)
				}
				guests++
			}
		}
		if guests != 1000 {
			b.Fatalf("saw %d guests", guests)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(srv.Requests()))/float64(b.N), "roundtrips/op")
}

func shutdownLab(b *testing.B) (*proxmoxtest.Server, *proxmox.Client, proxmox.PowerPlan) {
	srv := proxmoxtest.NewServer(proxmoxtest.WithoutLab())
	b.Cleanup(srv.Close)
	srv.SetRequestLimit(math.MaxInt32) // count every round trip, however many iterations
	srv.AddNode(proxmoxtest.Node)
	for i := 0; i < 20; i++ {
		srv.AddGuest(proxmoxtest.Guest{VMID: 200 + i, Node: proxmoxtest.Node, Type: []string{"qemu", "lxc"}[i%2],
			Name: fmt.Sprintf("g%d", i), Running: true, ShutdownTime: 100 * time.Millisecond,
			Config: map[string]string{"startup": fmt.Sprintf("order=%d", i%3+1)}})
	}
	srv.SetLatency(benchLatency)
	c := newClient(b, srv, proxmox.WithPollInterval(5*time.Millisecond, 10*time.Millisecond))
	plan, err := c.Power.PlanShutdown(context.Background(), proxmox.PlanOptions{})
	require.NoError(b, err)
	require.Len(b, plan.Groups, 3)
	srv.ResetRequests()
	return srv, c, plan
}

// BenchmarkOrderedShutdownSequential is the naive way: the same guests,
// in the same order, one at a time.
func BenchmarkOrderedShutdownSequential(b *testing.B) {
	srv, c, plan := shutdownLab(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		for _, g := range plan.Groups {
			for _, st := range g.Steps {
				if _, err := c.Guests.Shutdown(ctx, st.Guest.GuestRef, proxmox.ShutdownOptions{Timeout: st.Timeout}); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.StopTimer()
		for i := 0; i < 20; i++ {
			srv.SetGuestStatus(200+i, "running")
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(len(srv.Requests()))/float64(b.N), "roundtrips/op")
}

// BenchmarkOrderedShutdown stops 20 guests in 3 order groups, each guest
// taking 100 ms to shut down; the total should be near 3 × 100 ms plus
// polling, not 20 × 100 ms.
func BenchmarkOrderedShutdown(b *testing.B) {
	srv, c, plan := shutdownLab(b)
	ctx := context.Background()
	var total time.Duration
	b.ResetTimer()
	for b.Loop() {
		res, err := c.Power.Apply(ctx, plan, proxmox.ApplyOptions{})
		if err != nil || len(res.Outcomes) != 20 {
			b.Fatalf("run: %v", err)
		}
		total += res.Duration
		b.StopTimer()
		for i := 0; i < 20; i++ {
			srv.SetGuestStatus(200+i, "running")
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/run")
	b.ReportMetric(float64(len(srv.Requests()))/float64(b.N), "roundtrips/op")
}
