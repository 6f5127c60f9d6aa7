// Command hubtraf plays hubtraf's simulated analysts (internal/hubtraf)
// against a running hub, as hubtraf-simulate does: N users named
// {prefix}-{i}, all with one password, each starting within a random
// delay, logging in, starting a server, running code on a kernel for a
// random time, then stopping. It prints how the sessions ended (as
// hubtraf's Counter does) and the p50/p99 of each step.
//
//	go run ./bench/hubtraf -hub http://localhost:8000 -users 50 -password "$PW"
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/sparkhub/sparkhub/internal/hubtraf"
)

func main() {
	hub := flag.String("hub", "http://localhost:8000", "the hub's URL, without a trailing /")
	users := flag.Int("users", 10, "how many analysts")
	prefix := flag.String("user-prefix", "hubtraf", "users are named PREFIX-0, PREFIX-1, ...")
	password := flag.String("password", os.Getenv("HUBTRAF_PASSWORD"), "every user's password (or $HUBTRAF_PASSWORD)")
	minRun := flag.Duration("min-runtime", 60*time.Second, "least time each analyst runs code")
	maxRun := flag.Duration("max-runtime", 300*time.Second, "most time each analyst runs code")
	maxDelay := flag.Duration("max-start-delay", 60*time.Second, "by when every analyst has begun")
	flag.Parse()
	if *password == "" || *users < 1 || *maxRun < *minRun {
		fmt.Fprintln(os.Stderr, "hubtraf: give -password (or HUBTRAF_PASSWORD), -users of at least 1, and -max-runtime not below -min-runtime")
		os.Exit(2)
	}

	var mu sync.Mutex
	steps := map[string][]time.Duration{}
	outcomes := map[string]int{}
	var wg sync.WaitGroup
	start := time.Now()
	for i := range *users {
		wg.Go(func() {
			time.Sleep(rand.N(*maxDelay + 1))
			r := hubtraf.Run(context.Background(), hubtraf.Options{
				Hub: *hub, User: fmt.Sprintf("%s-%d", *prefix, i), Password: *password,
				Execute: *minRun + rand.N(*maxRun-*minRun+1),
				Step: func(step string, d time.Duration) {
					mu.Lock()
					steps[step] = append(steps[step], d)
					mu.Unlock()
				},
			})
			mu.Lock()
			defer mu.Unlock()
			outcomes[r.Outcome]++
			if r.Err != nil {
				fmt.Fprintf(os.Stderr, "%s-%d: %s: %v\n", *prefix, i, r.Outcome, r.Err)
			}
			if r.StopErr != nil {
				fmt.Fprintf(os.Stderr, "%s-%d: stopping: %v\n", *prefix, i, r.StopErr)
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	fmt.Printf("%d analysts in %s: %v; %.1f completed sessions per minute\n\n", *users, wall.Round(time.Second), outcomes,
		float64(outcomes[hubtraf.Completed])/wall.Minutes())
	fmt.Println("| step | done | p50 | p99 |")
	fmt.Println("|---|---|---|---|")
	for _, step := range []string{"login", "server-start", "kernel-start", "code-execute", "kernel-stop", "server-stop"} {
		d := steps[step]
		slices.Sort(d)
		fmt.Printf("| %s | %d | %s | %s |\n", step, len(d), ms(pct(d, 50)), ms(pct(d, 99)))
	}
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, len(d)*p/100)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
