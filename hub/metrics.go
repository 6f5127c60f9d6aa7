package hub

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/spawner"
)

// metrics is the hub's own Prometheus registry (no global one).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	logins   *prometheus.CounterVec
}

func newMetrics(gdb *gorm.DB, users *auth.Store) (*metrics, error) {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sparkhub_http_requests_total",
			Help: "HTTP requests answered, by route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sparkhub_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sparkhub_logins_total",
			Help: "Login attempts by result: success, failure, throttled, xsrf.",
		}, []string{"result"}),
	}
	userCount := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sparkhub_users",
		Help: "Users in the database.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := users.CountUsers(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	})
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, err
	}
	for _, c := range []prometheus.Collector{
		m.requests, m.duration, m.logins, userCount,
		collectors.NewDBStatsCollector(sqlDB, "sparkhub"),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := m.reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, r := range []string{"success", "failure", "refused", "throttled", "xsrf"} {
		m.logins.WithLabelValues(r)
	}
	return m, nil
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and Hijack.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Hijack passes the connection on for websockets (gorilla/websocket
// asserts http.Hijacker rather than using a ResponseController); a
// hijacked connection counts as 101 Switching Protocols.
func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(s.ResponseWriter).Hijack()
	if err == nil && s.code == 0 {
		s.code = http.StatusSwitchingProtocols
	}
	return conn, rw, err
}

// Flush sends buffered data now (progress events, streamed responses).
func (s *statusRecorder) Flush() {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	http.NewResponseController(s.ResponseWriter).Flush()
}

// instrument counts requests by the mux pattern that served them, so
// label values stay few whatever paths clients send.
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		if rec.code == 0 {
			rec.code = http.StatusOK
		}
		m.requests.WithLabelValues(route, r.Method, strconv.Itoa(rec.code)).Inc()
		m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

func (h *Hub) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if h.opts.AuthenticatePrometheus {
		p, err := h.auth.Authenticate(w, r)
		if err == nil {
			err = need(p, auth.ScopeReadMetrics, "")
		}
		if err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	promhttp.HandlerFor(h.metrics.reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// sparkCollector exports, per user, the Spark application running in
// their server as the hub last read it (spawner.Manager.ReadSpark), so
// an admin sees who holds the cluster.
type sparkCollector struct {
	apps                         func() map[string]spawner.SparkApp
	executors, cores, activeJobs *prometheus.Desc
}

func newSparkCollector(apps func() map[string]spawner.SparkApp) *sparkCollector {
	return &sparkCollector{
		apps:       apps,
		executors:  prometheus.NewDesc("sparkhub_spark_executors", "Active Spark executors of the application in the user's server (the driver not counted).", []string{"user"}, nil),
		cores:      prometheus.NewDesc("sparkhub_spark_cores", "Cores of those executors.", []string{"user"}, nil),
		activeJobs: prometheus.NewDesc("sparkhub_spark_active_jobs", "Spark jobs running in the user's server.", []string{"user"}, nil),
	}
}

func (c *sparkCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.executors
	ch <- c.cores
	ch <- c.activeJobs
}

func (c *sparkCollector) Collect(ch chan<- prometheus.Metric) {
	for user, a := range c.apps() {
		ch <- prometheus.MustNewConstMetric(c.executors, prometheus.GaugeValue, float64(a.Executors), user)
		ch <- prometheus.MustNewConstMetric(c.cores, prometheus.GaugeValue, float64(a.Cores), user)
		ch <- prometheus.MustNewConstMetric(c.activeJobs, prometheus.GaugeValue, float64(a.ActiveJobs), user)
	}
}
