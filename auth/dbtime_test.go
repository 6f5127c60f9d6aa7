package auth

import (
	"testing"
	"time"
)

func TestDBTimeScan(t *testing.T) {
	want := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
	for _, src := range []any{
		want,
		"2026-03-04 05:06:07.123456+00:00",
		[]byte("2026-03-04 05:06:07.123456+00:00"),
		"2026-03-04 06:06:07.123456+01:00",
		"2026-03-04T05:06:07.123456Z",
		"2026-03-04 05:06:07.123456",
	} {
		var d dbTime
		if err := d.Scan(src); err != nil || !d.valid || !d.t.Equal(want) {
			t.Errorf("Scan(%v) = %v, %v, %v; want %v", src, d.t, d.valid, err, want)
		}
	}
	var d dbTime
	if err := d.Scan(nil); err != nil || d.valid {
		t.Errorf("Scan(nil) = %v, %v", d.valid, err)
	}
	for _, bad := range []any{"yesterday", 42} {
		if err := d.Scan(bad); err == nil {
			t.Errorf("Scan(%v) took it", bad)
		}
	}
}
