// Command mesos measures the Mesos framework against the emulated
// cluster: how long placing many servers takes, and how many offers the
// framework answers per second.
//
//	go run ./bench/mesos -agents 100 -servers 500 -runs 3
//
// Placement: every server is asked for at once (each its own Start, as
// concurrent users would), on agents with room for servers/agents
// servers each; the time runs from the first request until every Start
// has returned (the task is TASK_RUNNING). The tasks are `sleep`
// processes: the time to launch Jupyter itself is not counted.
//
// Offers: a server that fits nowhere waits while the emulator offers
// every agent again as soon as it is declined; the count of offers the
// framework declined, over the duration.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/mesos"
	"github.com/sparkhub/sparkhub/spawner/mesos/mesostest"
)

const image = "bench/sleeper"

func main() {
	agents := flag.Int("agents", 100, "emulated agents")
	servers := flag.Int("servers", 500, "servers to place")
	runs := flag.Int("runs", 3, "placement runs")
	offersFor := flag.Duration("offers-for", 5*time.Second, "how long to count offers")
	flag.Parse()
	if err := run(*agents, *servers, *runs, *offersFor); err != nil {
		fmt.Fprintln(os.Stderr, "bench/mesos:", err)
		os.Exit(1)
	}
}

func cluster(agents, per int, alloc time.Duration) (*mesostest.Cluster, error) {
	r, err := mesostest.ParseResources(fmt.Sprintf("cpus:%d;mem:%d;ports:[20000-%d]", per, per*1024, 20000+agents*per*(1+4*mesos.DefaultSparkApps)-1))
	if err != nil {
		return nil, err
	}
	opts := mesostest.Options{
		Images:             map[string][]string{image: {"/bin/sh", "-c", "exec sleep 600", "sh"}},
		AllocationInterval: alloc,
	}
	for i := 0; i < agents; i++ {
		opts.Agents = append(opts.Agents, mesostest.AgentConfig{Resources: r})
	}
	return mesostest.New(opts)
}

func framework(c *mesostest.Cluster, spec spawner.Spec, refuse float64) (*mesos.Backend, error) {
	return mesos.New(mesos.Options{
		Master: c.URLs(), Defaults: spec, RefuseSeconds: refuse, KillGrace: 100 * time.Millisecond,
		MinBackoff: 50 * time.Millisecond,
	})
}

// running runs b's subscription until stop, which waits for it to end.
func running(b *mesos.Backend) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

func run(agents, servers, runs int, offersFor time.Duration) error {
	per := (servers + agents - 1) / agents
	var times []time.Duration
	for r := 0; r < runs; r++ {
		c, err := cluster(agents, per, time.Second)
		if err != nil {
			return err
		}
		b, err := framework(c, spawner.Spec{Image: image, CPUs: 1, Mem: 1024}, 60)
		if err != nil {
			c.Close()
			return err
		}
		stop := running(b)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		start := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failed error
		for i := 0; i < servers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u := fmt.Sprintf("user%04d", i)
				_, err := b.Start(ctx, spawner.StartRequest{User: u, BaseURL: spawner.UserURL(u)})
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		d := time.Since(start)
		cancel()
		st := c.Stats()
		stop()
		c.Close()
		if failed != nil {
			return failed
		}
		times = append(times, d)
		fmt.Printf("run %d: %d servers on %d agents in %v (offers sent %d, accepted %d, declined %d)\n",
			r+1, servers, agents, d.Round(time.Millisecond), st.OffersSent, st.OffersAccepted, st.OffersDeclined)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	fmt.Printf("placement: median %v of %d runs\n", times[len(times)/2].Round(time.Millisecond), runs)

	c, err := cluster(agents, per, time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	b, err := framework(c, spawner.Spec{Image: image, CPUs: 1000, Mem: 1024}, 0.001)
	if err != nil {
		return err
	}
	defer running(b)()
	ctx, cancel := context.WithTimeout(context.Background(), offersFor+time.Second)
	defer cancel()
	go b.Start(ctx, spawner.StartRequest{User: "huge", BaseURL: spawner.UserURL("huge")})
	time.Sleep(time.Second) // subscribed and offered
	n0 := b.OffersHandled()
	time.Sleep(offersFor)
	n := b.OffersHandled() - n0
	fmt.Printf("offers: %d answered in %v = %.0f offers/s\n", n, offersFor, float64(n)/offersFor.Seconds())
	return nil
}
