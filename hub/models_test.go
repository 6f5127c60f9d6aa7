package hub

import (
	"encoding/json"
	"testing"
	"time"
)

// The hand-written user list is byte for byte what encoding/json writes.
func TestAppendUserModels(t *testing.T) {
	url, pending := "/user/a/", "spawn"
	at := time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.FixedZone("x", 3600))
	servers := map[string]serverModel{"": {Name: "", Ready: true, URL: "/user/a/", Started: isoTime(at),
		State: map[string]any{"pid": 12}, UserOptions: map[string]any{}}}
	empty := map[string]serverModel{}
	names := []string{"alice", "<b>&amp;", "q\"uo\\te", "tab\tnl\nnul\x00\x1f\b\f", "é中😀", "\u2028\u2029", "bad\xffutf8", ""}
	var items []userModel
	for i, n := range names {
		m := userModel{Kind: "user", Name: n, Admin: i%2 == 0, Roles: []string{"user"}, Groups: []string{},
			Created: isoTime(at), Disabled: i%3 == 0}
		switch i % 4 {
		case 0:
			m.Server, m.Servers, m.LastActivity = &url, &servers, isoTime(at)
		case 1:
			m.Pending, m.Servers = &pending, &empty
		case 2:
			m.Roles, m.Groups = nil, []string{n}
		}
		items = append(items, m)
	}
	for _, list := range [][]userModel{nil, {}, items} {
		want, err := json.Marshal(list)
		if err != nil {
			t.Fatal(err)
		}
		if list == nil {
			want = []byte("[]") // the handler always has a list
		}
		got, err := appendUserModels(nil, list)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("appendUserModels:\n got %s\nwant %s", got, want)
		}
	}
}
