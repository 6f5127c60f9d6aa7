package mesos

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"testing"
)

// FuzzRecordReader feeds the scheduler's stream reader any bytes: it
// returns records of exactly the length their header gives, or an
// error, and after an error it never hands out a record.
func FuzzRecordReader(f *testing.F) {
	for _, s := range []string{
		"", "\n", "0\n", "1\nx", "3\nabc4\nabcd", "20\n{\"type\":\"HEARTBEAT\"}", "-1\nx",
		"2\nab\n", "99999999999999999999\nx", "67108865\n", "1", " 1\nx", "1 \nx", "+1\nx",
		"0x10\nabcdefghijklmnop", "5\nab", "74\n{\"type\":\"SUBSCRIBED\",\"subscribed\":{\"framework_id\":{\"value\":\"f\"}}}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		rr := NewRecordReader(bytes.NewReader(in))
		consumed := 0
		for {
			rec, err := rr.Next()
			if err != nil {
				if errors.Is(err, io.EOF) && consumed != len(in) {
					t.Fatalf("io.EOF after %d of %d bytes", consumed, len(in))
				}
				return
			}
			header := strconv.Itoa(len(rec)) + "\n"
			if !bytes.HasPrefix(in[consumed:], []byte(header)) && !headerNames(in[consumed:], len(rec)) {
				t.Fatalf("record of %d bytes does not match its header in %q", len(rec), in[consumed:])
			}
			i := bytes.IndexByte(in[consumed:], '\n')
			consumed += i + 1 + len(rec)
			if !bytes.Equal(in[consumed-len(rec):consumed], rec) {
				t.Fatalf("record %q is not the bytes after its header", rec)
			}
			var ev Event
			_ = json.Unmarshal(rec, &ev)
		}
	})
}

// headerNames reports whether the line at the start of b is a decimal
// number equal to n, or any number for n < 0 (leading zeros allowed, as
// ParseUint allows).
func headerNames(b []byte, n int) bool {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return false
	}
	v, err := strconv.ParseUint(string(b[:i]), 10, 64)
	return err == nil && (n < 0 || v == uint64(n))
}

// FuzzEventRoundTrip: an event the master sends decodes without a panic,
// and what sparkhub's emulator writes of it (AppendRecord) reads back as
// the same event.
func FuzzEventRoundTrip(f *testing.F) {
	for _, s := range []string{
		`{"type":"HEARTBEAT"}`,
		`{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f-1"},"heartbeat_interval_seconds":"15"}}`,
		`{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f-1"},"heartbeat_interval_seconds":"Infinity"}}`,
		`{"type":"OFFERS","offers":{"offers":[{"id":{"value":"o"},"agent_id":{"value":"a"},"hostname":"h","resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":"4"}},{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":32000}]}}],"attributes":[{"name":"rack","type":"TEXT","text":{"value":"r1"}}]}]}}`,
		`{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING","uuid":"AAEC","container_status":{"network_infos":[{"ip_addresses":[{"ip_address":"10.0.0.1"}]}]}}}}`,
		`{"type":"RESCIND","rescind":{"offer_id":{"value":"o"}}}`,
		`{"type":"FAILURE","failure":{"agent_id":{"value":"a"},"status":9}}`,
		`{"type":"ERROR","error":{"message":"Framework has been removed"}}`,
		`{"type":"OFFERS","offers":{"offers":[{"resources":[{"scalar":{"value":1e400}}]}]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var ev Event
		if json.Unmarshal(in, &ev) != nil {
			return
		}
		for _, o := range offersOf(&ev) {
			_ = o.Hostname
			for _, a := range o.Attributes {
				_ = a.String()
			}
		}
		rec, err := AppendRecord(nil, ev)
		if err != nil {
			return // NaN or an infinity: not JSON, and Mesos never sends it
		}
		got, err := NewRecordReader(bytes.NewReader(rec)).Next()
		if err != nil {
			t.Fatalf("reading back a record AppendRecord wrote: %v\n%s", err, rec)
		}
		var back Event
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("the record does not decode: %v\n%s", err, got)
		}
		// Compared as JSON: an empty list and none are the same on the
		// wire.
		if again, _ := json.Marshal(back); !bytes.Equal(again, rec[bytes.IndexByte(rec, '\n')+1:]) {
			t.Fatalf("event changed on the way:\n in: %s\nout: %s", rec, again)
		}
	})
}

func offersOf(ev *Event) []Offer {
	if ev.Offers == nil {
		return nil
	}
	return ev.Offers.Offers
}
