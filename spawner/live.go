package spawner

import "sort"

// LiveUsers lists, sorted, the users whose server is starting, running or
// stopping (JupyterHub's state=active), or only running (state=ready),
// from memory.
func (m *Manager) LiveUsers(readyOnly bool) []string {
	var out []string
	m.index.Range(func(k, v any) bool {
		st := v.(*server).getState()
		if st == Running || !readyOnly && st.Live() {
			out = append(out, k.(string))
		}
		return true
	})
	sort.Strings(out)
	return out
}
