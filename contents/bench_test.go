package contents

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sparkhub/sparkhub/bench/notebook"
	"github.com/sparkhub/sparkhub/db/dbtest"
)

func benchRequest(b *testing.B, method, url string, body []byte) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b.Fatalf("%s: %d", method, resp.StatusCode)
	}
	b.SetBytes(n + int64(len(body)))
}

// BenchmarkNotebook saves and loads a 1 MB and a 10 MB notebook through
// the contents handler on SQLite: the hot path of every save and open.
func BenchmarkNotebook(b *testing.B) {
	for _, mb := range []int{1, 10} {
		body := notebook.PutBody(mb << 20)
		svc, err := New(dbtest.Open(b, "sqlite"), Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(svc.Handler())
		url := srv.URL + "/user/alice/api/contents/big.ipynb"
		benchRequest(b, "PUT", url, body)
		b.Run(fmt.Sprintf("PUT/%dMB", mb), func(b *testing.B) {
			for b.Loop() {
				benchRequest(b, "PUT", url, body)
			}
		})
		b.Run(fmt.Sprintf("GET/%dMB", mb), func(b *testing.B) {
			for b.Loop() {
				benchRequest(b, "GET", url+"?content=1", nil)
			}
		})
		srv.Close()
	}
}
