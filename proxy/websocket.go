package proxy

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sparkhub/sparkhub/spawner"
)

// Close frames, and how long to wait for the other end's.
const closeWait = 2 * time.Second

var bufferPool = &sync.Pool{}

// Idle relayed websockets are what a hub holds most of: each side reads
// through a small buffer (a larger message just takes more reads; the
// 4 KiB one net/http hands over at the upgrade is let go), and write
// buffers are pooled.
var upgrader = websocket.Upgrader{
	ReadBufferSize:  1024,
	WriteBufferSize: 4096,
	WriteBufferPool: bufferPool,
	// The authorizer checked the origin (auth.UserPath) for cookie
	// clients; token clients may come from anywhere.
	CheckOrigin: func(*http.Request) bool { return true },
	Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
		http.Error(w, http.StatusText(status), status)
	},
}

var dialer = websocket.Dialer{
	NetDialContext:   spawner.Dial,
	HandshakeTimeout: 15 * time.Second,
	ReadBufferSize:   1024,
	WriteBufferSize:  4096,
	WriteBufferPool:  bufferPool,
}

// relay is one proxied websocket: the client's end and the server's.
type relay struct {
	client, upstream *websocket.Conn
	once             sync.Once
	done             chan struct{} // closed when both ends are
}

// closeBoth sends each end a close frame, then closes both connections.
func (r *relay) closeBoth(toClient, toUpstream []byte) {
	r.once.Do(func() {
		close(r.done)
		deadline := time.Now().Add(closeWait)
		r.client.WriteControl(websocket.CloseMessage, toClient, deadline)
		r.upstream.WriteControl(websocket.CloseMessage, toUpstream, deadline)
		r.client.Close()
		r.upstream.Close()
	})
}

// hopHeaders are set by the websocket dialer itself, or are the hub's.
var hopHeaders = []string{
	"Connection", "Upgrade", "Sec-Websocket-Key", "Sec-Websocket-Version",
	"Sec-Websocket-Extensions", "Sec-Websocket-Protocol", "Te", "Trailer",
	"Transfer-Encoding", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization",
}

// relayWebsocket connects to the server first, so a refusal reaches the
// client as the server's HTTP answer, then upgrades the client with the
// subprotocol the server chose and relays messages both ways.
func (p *Proxy) relayWebsocket(w http.ResponseWriter, r *http.Request, name string, target *url.URL, token string) {
	up := *target
	up.Scheme = "ws"
	if target.Scheme == "https" {
		up.Scheme = "wss"
	}
	up.Path = r.URL.Path
	up.RawPath = r.URL.RawPath
	up.RawQuery = r.URL.RawQuery

	h := r.Header.Clone()
	for _, k := range hopHeaders {
		h.Del(k)
	}
	setForwarded(h, r, p.auth.Proxies())
	stripCredentials(h)
	h.Set("Authorization", "token "+token)
	h.Set("Host", r.Host)

	d := dialer
	d.Subprotocols = websocket.Subprotocols(r)
	upConn, resp, err := d.DialContext(r.Context(), up.String(), h)
	if err != nil {
		if resp != nil {
			// The server answered but refused: pass its answer on.
			defer resp.Body.Close()
			dropHubCookies(resp)
			for k, vs := range resp.Header {
				if k == "Content-Type" || k == "Content-Length" {
					continue
				}
				for _, v := range vs {
					if strings.HasPrefix(k, "Sec-") || k == "Connection" || k == "Upgrade" {
						continue
					}
					w.Header().Add(k, v)
				}
			}
			w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
			w.WriteHeader(resp.StatusCode)
			io.Copy(w, io.LimitReader(resp.Body, 1<<20))
			return
		}
		p.upstreamError(w, r, err)
		return
	}
	respHeader := http.Header{}
	if sp := upConn.Subprotocol(); sp != "" {
		respHeader.Set("Sec-Websocket-Protocol", sp)
	}
	clientConn, err := upgrader.Upgrade(w, r, respHeader)
	if err != nil {
		upConn.Close()
		return
	}
	rl := &relay{client: clientConn, upstream: upConn, done: make(chan struct{})}
	for _, c := range []*websocket.Conn{clientConn, upConn} {
		c.SetReadLimit(p.opts.MaxMessageSize)
		p.heard(c)
		c.SetPongHandler(func(string) error { p.heard(c); return nil })
	}
	if !p.track(rl) {
		rl.closeBoth(websocket.FormatCloseMessage(websocket.CloseGoingAway, "the hub is shutting down"), websocket.FormatCloseMessage(websocket.CloseGoingAway, ""))
		return
	}

	var kernel string
	if rest, ok := strings.CutPrefix(r.URL.Path, "/user/"+name+"/api/kernels/"); ok {
		if id, tail, ok := strings.Cut(rest, "/"); ok && tail == "channels" {
			kernel = id
		}
	}
	// Two goroutines, one a direction, and the handler returns: its deep
	// stack and the request it holds do not stay for the websocket's
	// whole life.
	done := make(chan struct{})
	go func() {
		p.pump(rl, name, kernel, rl.upstream, rl.client)
		if kernel != "" {
			p.routes.KernelClosed(name, kernel)
		}
		close(done)
	}()
	go func() {
		p.pump(rl, name, "", rl.client, rl.upstream)
		<-done
		p.untrack(rl)
	}()
	go p.ping(rl)
}

// heard gives an end that just answered (a pong or a message) two ping
// intervals until it must be heard from again.
func (p *Proxy) heard(c *websocket.Conn) {
	c.SetReadDeadline(time.Now().Add(2 * p.opts.PingInterval))
}

// ping pings both ends of a relay every interval until it ends. An end
// that does not answer runs out of read deadline, which ends the relay
// (pump); one that does not take the ping within an interval, because
// it reads nothing or too slowly, ends it here.
func (p *Proxy) ping(rl *relay) {
	t := time.NewTicker(p.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-rl.done:
			return
		case <-t.C:
		}
		deadline := time.Now().Add(p.opts.PingInterval)
		for _, c := range []*websocket.Conn{rl.client, rl.upstream} {
			if err := c.WriteControl(websocket.PingMessage, nil, deadline); err != nil {
				msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, stoppedAnswering)
				rl.closeBoth(msg, msg)
				return
			}
		}
	}
}

// stoppedAnswering is the close reason when an end was dropped for not
// answering pings or not taking what it was sent.
const stoppedAnswering = "one end of the websocket stopped answering"

// pump copies messages from src to dst until either end fails or closes;
// then it closes both, passing the close code on. Messages from a kernel
// channel tell the manager whether the kernel is busy.
func (p *Proxy) pump(rl *relay, user, kernel string, src, dst *websocket.Conn) {
	upstream := src == rl.upstream
	for {
		if upstream {
			quickAck(src.UnderlyingConn())
		}
		typ, data, err := src.ReadMessage()
		if err != nil {
			code, text := websocket.CloseAbnormalClosure, ""
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				code, text = ce.Code, ce.Text
			}
			// Over the read limit: the sender was told 1009 already, and
			// the other end is told why too.
			if errors.Is(err, websocket.ErrReadLimit) {
				code, text = websocket.CloseMessageTooBig, "a message was larger than the hub relays"
			}
			// Out of read deadline (gorilla/websocket hides the cause
			// behind its own net.Error).
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				code, text = websocket.CloseGoingAway, stoppedAnswering
			}
			// 1005 and 1006 may not be sent in a frame.
			if code == websocket.CloseNoStatusReceived {
				code = websocket.CloseNormalClosure
			}
			if code == websocket.CloseAbnormalClosure {
				code, text = websocket.CloseGoingAway, "the other end went away"
			}
			msg := websocket.FormatCloseMessage(code, text)
			rl.closeBoth(msg, msg)
			return
		}
		p.heard(src)
		now := time.Now()
		p.routes.MarkActive(user, now)
		if kernel != "" {
			if busy, ok := kernelStatus(typ, data); ok {
				p.routes.KernelBusy(user, kernel, busy)
			}
		}
		if err := dst.WriteMessage(typ, data); err != nil {
			msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "the other end went away")
			rl.closeBoth(msg, msg)
			return
		}
	}
}

// kernelStatus reads an iopub status message, in either of Jupyter's
// websocket encodings: JSON text frames, or the binary
// v1.kernel.websocket.jupyter.org frames (a little-endian uint64 count
// of offsets, the offsets, then channel, header, parent header,
// metadata, content and buffers). ok is false for any other message.
func kernelStatus(typ int, data []byte) (busy, ok bool) {
	var header, content []byte
	switch typ {
	case websocket.TextMessage:
		if !bytes.Contains(data, []byte(`"execution_state"`)) {
			return false, false
		}
		var m struct {
			Channel string `json:"channel"`
			Header  struct {
				MsgType string `json:"msg_type"`
			} `json:"header"`
			Content struct {
				ExecutionState string `json:"execution_state"`
			} `json:"content"`
		}
		if json.Unmarshal(data, &m) != nil || m.Channel != "iopub" || m.Header.MsgType != "status" {
			return false, false
		}
		return stateBusy(m.Content.ExecutionState)
	case websocket.BinaryMessage:
		if len(data) < 8 {
			return false, false
		}
		n := binary.LittleEndian.Uint64(data)
		if n < 6 || n > 1024 || uint64(len(data)) < 8+8*n {
			return false, false
		}
		off := make([]uint64, n)
		for i := range off {
			off[i] = binary.LittleEndian.Uint64(data[8+8*i:])
		}
		for i := 1; i < len(off); i++ {
			if off[i] < off[i-1] || off[i] > uint64(len(data)) {
				return false, false
			}
		}
		if string(data[off[0]:off[1]]) != "iopub" {
			return false, false
		}
		header, content = data[off[1]:off[2]], data[off[4]:off[5]]
		if !bytes.Contains(header, []byte(`"status"`)) {
			return false, false
		}
		var h struct {
			MsgType string `json:"msg_type"`
		}
		var c struct {
			ExecutionState string `json:"execution_state"`
		}
		if json.Unmarshal(header, &h) != nil || h.MsgType != "status" || json.Unmarshal(content, &c) != nil {
			return false, false
		}
		return stateBusy(c.ExecutionState)
	}
	return false, false
}

func stateBusy(s string) (bool, bool) {
	switch s {
	case "busy":
		return true, true
	case "idle", "dead":
		return false, true
	}
	return false, false
}

// closeWithReason accepts a websocket only to close it at once with a
// reason a person can read (the server is not running).
func closeWithReason(w http.ResponseWriter, r *http.Request, reason string) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	if len(reason) > 120 {
		reason = reason[:120]
	}
	c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseTryAgainLater, reason), time.Now().Add(closeWait))
	c.Close()
}

func (p *Proxy) track(r *relay) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[r] = struct{}{}
	return true
}

func (p *Proxy) untrack(r *relay) {
	p.mu.Lock()
	delete(p.conns, r)
	p.mu.Unlock()
}

// Connections is how many websockets are being relayed.
func (p *Proxy) Connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Close ends every relayed websocket with 1001 (going away): the HTTP
// server's Shutdown does not close hijacked connections. New ones are
// refused from then on.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	conns := make([]*relay, 0, len(p.conns))
	for r := range p.conns {
		conns = append(conns, r)
	}
	p.mu.Unlock()
	msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "the hub is restarting; reconnect in a moment")
	for _, r := range conns {
		r.closeBoth(msg, websocket.FormatCloseMessage(websocket.CloseGoingAway, ""))
	}
}
