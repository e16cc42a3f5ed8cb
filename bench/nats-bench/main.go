// nats-bench drives a JetStream cluster with the same workloads and the same --json line as `mqraft bench`,
// so that bench/compare-nats.ts can put both side by side. Built with Debian's packages only:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o nats-bench ./bench/nats-bench
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

type settings struct {
	mode    string
	url     string
	subject string
	stream  string
	msgs    int
	size    int
	clients int
	subs    int
	window  int
	rate    int
}

type result struct {
	Msgs       int     `json:"msgs"`
	Seconds    float64 `json:"seconds"`
	MsgsPerSec float64 `json:"msgsPerSec"`
	MBps       float64 `json:"MBps"`
	P50ms      float64 `json:"p50ms"`
	P90ms      float64 `json:"p90ms"`
	P99ms      float64 `json:"p99ms"`
	Maxms      float64 `json:"maxms"`
}

// latencies collects samples from many goroutines into one preallocated slice.
type latencies struct {
	samples []float64
	n       int64
}

func (l *latencies) record(ms float64) {
	i := atomic.AddInt64(&l.n, 1) - 1
	if int(i) < len(l.samples) {
		l.samples[i] = ms
	}
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

func summarize(msgs, size int, seconds float64, l *latencies) result {
	n := int(atomic.LoadInt64(&l.n))
	if n > len(l.samples) {
		n = len(l.samples)
	}
	s := append([]float64(nil), l.samples[:n]...)
	sort.Float64s(s)
	at := func(q float64) float64 {
		if len(s) == 0 {
			return 0
		}
		rank := int(math.Max(1, math.Ceil(q*float64(len(s)))))
		return s[rank-1]
	}
	perSec := float64(msgs) / seconds
	max := 0.0
	if len(s) > 0 {
		max = s[len(s)-1]
	}
	return result{msgs, round(seconds, 3), round(perSec, 0), round(perSec*float64(size)/1e6, 2),
		round(at(0.5), 3), round(at(0.9), 3), round(at(0.99), 3), round(max, 3)}
}

func wallMs() float64 { return float64(time.Now().UnixNano()) / 1e6 }

// payload carries its send time in its first 8 bytes, as mqraft bench's do.
func payload(size int) []byte {
	data := make([]byte, size)
	for i := range data {
		data[i] = 'a'
	}
	if size >= 8 {
		binary.LittleEndian.PutUint64(data, math.Float64bits(wallMs()))
	}
	return data
}

func sentAt(data []byte) (float64, bool) {
	if len(data) < 8 {
		return 0, false
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(data)), true
}

func must(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "nats-bench: %s: %v\n", what, err)
		os.Exit(1)
	}
}

func connect(s settings) (*nats.Conn, nats.JetStreamContext) {
	nc, err := nats.Connect(s.url)
	must(err, "connect")
	js, err := nc.JetStream(nats.PublishAsyncMaxPending(s.window * 2))
	must(err, "jetstream")
	return nc, js
}

// freshStream replaces the stream so that each workload starts on an empty R3 file-storage stream.
func freshStream(s settings) {
	nc, js := connect(s)
	defer nc.Close()
	_ = js.DeleteStream(s.stream)
	_, err := js.AddStream(&nats.StreamConfig{Name: s.stream, Subjects: []string{s.subject}, Storage: nats.FileStorage, Replicas: 3})
	must(err, "add stream")
}

// publishAll sends s.msgs messages from s.clients connections, each with s.window publishes awaiting their ack.
func publishAll(s settings, acked func(ms float64)) {
	var next int64 = -1
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < s.clients; c++ {
		nc, js := connect(s)
		defer nc.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots := make(chan struct{}, s.window)
			var inner sync.WaitGroup
			for {
				k := atomic.AddInt64(&next, 1)
				if int(k) >= s.msgs {
					break
				}
				if s.rate > 0 {
					due := start.Add(time.Duration(float64(k) * float64(time.Second) / float64(s.rate)))
					if wait := time.Until(due); wait > time.Millisecond {
						time.Sleep(wait)
					}
				}
				t := time.Now()
				if s.window == 1 {
					_, err := js.Publish(s.subject, payload(s.size))
					must(err, "publish")
					acked(float64(time.Since(t).Nanoseconds()) / 1e6)
					continue
				}
				slots <- struct{}{}
				f, err := js.PublishAsync(s.subject, payload(s.size))
				must(err, "publish")
				inner.Add(1)
				go func() {
					defer inner.Done()
					select {
					case <-f.Ok():
					case err := <-f.Err():
						must(err, "publish ack")
					}
					acked(float64(time.Since(t).Nanoseconds()) / 1e6)
					<-slots
				}()
			}
			inner.Wait()
		}()
	}
	wg.Wait()
}

func main() {
	var s settings
	flag.StringVar(&s.url, "server", "nats://127.0.0.1:4222", "NATS servers")
	flag.StringVar(&s.stream, "stream", "BENCH", "stream name (replaced at start)")
	flag.IntVar(&s.msgs, "msgs", 100000, "messages")
	flag.IntVar(&s.size, "size", 128, "payload bytes")
	flag.IntVar(&s.clients, "clients", 1, "publishing connections")
	flag.IntVar(&s.subs, "subs", 1, "e2e: subscribing connections")
	flag.IntVar(&s.window, "window", 1000, "publishes in flight per connection; 1 is synchronous")
	flag.IntVar(&s.rate, "rate", 0, "messages per second in all (0: unpaced)")
	jsonOut := flag.Bool("json", false, "print the result as a JSON last line")
	if len(os.Args) < 3 || (os.Args[1] != "pub" && os.Args[1] != "e2e") {
		fmt.Fprintln(os.Stderr, "usage: nats-bench pub|e2e SUBJECT [flags]")
		os.Exit(2)
	}
	s.mode, s.subject = os.Args[1], os.Args[2]
	must(flag.CommandLine.Parse(os.Args[3:]), "flags")
	fmt.Printf("nats-bench %s: subject %s, %d msgs of %d B, %d publisher(s), window %d, rate %d, R3 file stream\n",
		s.mode, s.subject, s.msgs, s.size, s.clients, s.window, s.rate)
	freshStream(s)

	var res result
	if s.mode == "pub" {
		l := &latencies{samples: make([]float64, s.msgs)}
		start := time.Now()
		publishAll(s, l.record)
		res = summarize(s.msgs, s.size, time.Since(start).Seconds(), l)
	} else {
		l := &latencies{samples: make([]float64, s.msgs*s.subs)}
		var done sync.WaitGroup
		for i := 0; i < s.subs; i++ {
			nc, js := connect(s)
			defer nc.Close()
			done.Add(1)
			var got int64
			_, err := js.Subscribe(s.subject, func(m *nats.Msg) {
				if sent, ok := sentAt(m.Data); ok {
					l.record(wallMs() - sent)
				}
				if atomic.AddInt64(&got, 1) == int64(s.msgs) {
					done.Done()
				}
			}, nats.OrderedConsumer(), nats.DeliverNew())
			must(err, "subscribe")
		}
		start := time.Now()
		publishAll(s, func(float64) {})
		done.Wait()
		res = summarize(s.msgs, s.size, time.Since(start).Seconds(), l)
	}
	fmt.Printf("%d msgs in %v s: %v msgs/s, %v MB/s\nlatency ms: p50 %v, p90 %v, p99 %v, max %v\n",
		res.Msgs, res.Seconds, res.MsgsPerSec, res.MBps, res.P50ms, res.P90ms, res.P99ms, res.Maxms)
	if *jsonOut {
		line, _ := json.Marshal(res)
		fmt.Println(string(line))
	}
}
