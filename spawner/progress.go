package spawner

import (
	"context"
	"html"
	"sync"
)

// progress is one spawn's events, kept whole so a subscriber arriving
// late (a reloaded page) sees them all. It ends with a ready or failed
// event.
type progress struct {
	mu     sync.Mutex
	events []Event
	more   chan struct{} // closed and replaced on each add
	ended  bool
}

func newProgress() *progress { return &progress{more: make(chan struct{})} }

func (p *progress) add(e Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		return
	}
	p.events = append(p.events, e)
	p.ended = e.Ready || e.Failed
	close(p.more)
	p.more = make(chan struct{})
}

// percent is the progress of the last event.
func (p *progress) percent() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.events) == 0 {
		return 0
	}
	return p.events[len(p.events)-1].Progress
}

// subscribe streams the events from the first, closing the channel after
// the final one or when ctx ends.
func (p *progress) subscribe(ctx context.Context) <-chan Event {
	ch := make(chan Event)
	go func() {
		defer close(ch)
		for i := 0; ; {
			p.mu.Lock()
			pending := p.events[i:]
			more, ended := p.more, p.ended
			p.mu.Unlock()
			for _, e := range pending {
				select {
				case ch <- e:
				case <-ctx.Done():
					return
				}
				i++
			}
			if ended {
				return
			}
			select {
			case <-more:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

func readyEvent(url string) Event {
	return Event{
		Progress:    100,
		Ready:       true,
		Message:     "Server ready at " + url,
		HTMLMessage: `Server ready at <a href="` + html.EscapeString(url) + `">` + html.EscapeString(url) + `</a>`,
		URL:         url,
	}
}

func failedEvent(reason string) Event {
	return Event{Progress: 100, Failed: true, Message: "Spawn failed: " + reason}
}

// single returns a channel carrying one event.
func single(e Event) <-chan Event {
	ch := make(chan Event, 1)
	ch <- e
	close(ch)
	return ch
}
