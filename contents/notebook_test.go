package contents

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/sparkhub/sparkhub/internal/nbjson"
)

// parseNotebook reads stored notebook bytes as nbformat.reads does for
// version 4, lines rejoined into strings at once: what the hub's
// parseNotebookInPlace reads, in the shape tests compare.
func parseNotebook(data []byte) (map[string]any, error) {
	v, err := nbjson.Parse(data)
	return readNotebook(v, err, joinNow)
}

// joinNow is a joiner that makes the string at once.
func joinNow(list []any) (any, bool) {
	n := 0
	for _, v := range list {
		s, ok := v.(string)
		if !ok {
			return nil, false
		}
		n += len(s)
	}
	var b strings.Builder
	b.Grow(n)
	for _, v := range list {
		b.WriteString(v.(string))
	}
	return b.String(), true
}

// The bytes nbformat.writes(nb, version=4) wrote for testdata's notebook.
func TestSerialiseMatchesNbformat(t *testing.T) {
	in, err := os.ReadFile("testdata/notebook_in.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/notebook_nbformat.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	v, err := nbjson.Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	nb, err := checkNotebook(v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := serialiseNotebook(new(bytes.Buffer), nb, 0)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("serialised notebook differs from nbformat's\n got: %s\nwant: %s", got, want)
	}
	if msg := validateNotebook(nb); msg != "" {
		t.Errorf("validateNotebook = %q, want no warning", msg)
	}
}

// What nbformat.reads(…, as_version=4) gives back for those bytes.
func TestParseMatchesNbformat(t *testing.T) {
	stored, _ := os.ReadFile("testdata/notebook_nbformat.ipynb")
	wantJSON, _ := os.ReadFile("testdata/notebook_read.json")
	nb, err := parseNotebook(stored)
	if err != nil {
		t.Fatal(err)
	}
	gotJSON, _ := json.Marshal(nb)
	var got, want any
	json.Unmarshal(gotJSON, &got)
	json.Unmarshal(wantJSON, &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parsed notebook differs from nbformat's\n got: %s\nwant: %s", gotJSON, wantJSON)
	}
}

func TestValidateNotebook(t *testing.T) {
	tests := []struct {
		name, nb string
		bad      bool
	}{
		{"empty", `{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`, false},
		{"wrong cell type", `{"cells": [{"cell_type": "wrong", "metadata": {}}], "metadata": {}, "nbformat": 4, "nbformat_minor": 4}`, true},
		{"no nbformat_minor", `{"cells": [], "metadata": {}, "nbformat": 4}`, true},
		{"code without outputs", `{"cells": [{"cell_type": "code", "metadata": {}, "source": "", "execution_count": null}], "metadata": {}, "nbformat": 4, "nbformat_minor": 4}`, true},
	}
	for _, tt := range tests {
		v, _ := nbjson.Parse([]byte(tt.nb))
		msg := validateNotebook(v.(map[string]any))
		if (msg != "") != tt.bad {
			t.Errorf("%s: validateNotebook = %q, want a warning: %v", tt.name, msg, tt.bad)
		}
	}
}

// decodePayload reads what Python's base64.b64decode reads.
func TestDecodePayloadLikePython(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{"test==", "\xb5\xeb-", false},
		{"test==test==", "\xb5\xeb-\xb5\xeb-", false},
		{"tes=", "\xb5\xeb", false},
		{"te==st", "\xb5", false},
		{"YQ==YQ==", "a", false},
		{"aGVs\nbG8=\n", "hello", false},
		{"!!!", "", false},
		{"", "", false},
		{"a", "", true},
		{"QUJDRA", "", true},
	}
	for _, tt := range tests {
		got, err := decodePayload([]byte(tt.in))
		if (err != nil) != tt.bad || string(got) != tt.want {
			t.Errorf("decodePayload(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.bad)
		}
	}
}
