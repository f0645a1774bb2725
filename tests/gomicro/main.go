// Command gomicro is a Go Micro v5 peer for micro's interoperability tests and
// benchmarks. Everything it does goes through Go Micro's own client, server, registry
// and http broker, so the wire formats under test are Go Micro's, not a second
// implementation of them.
//
//	gomicro serve     -registry R -name S                      a Greeter service until SIGTERM
//	gomicro call      -registry R -service S -endpoint E -body JSON [-count N] [-concurrency C] [-metadata k=v,...]
//	gomicro list      -registry R                              every service, with nodes and endpoints
//	gomicro publish   -registry R -topic T [-count N]
//	gomicro subscribe -registry R -topic T [-queue Q]          one JSON line per message until SIGTERM
//
// R is a Consul agent's host:port, "mdns", or "memory" (no discovery: call with -address).
// With -grpc, serve and call use Go Micro's gRPC server and client instead of its
// default (mucp over HTTP); -content-type picks the call's codec.
// Output meant for the test is one JSON object per line; any other line is Go Micro's log.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go-micro.dev/v5/broker"
	"go-micro.dev/v5/client"
	grpcclient "go-micro.dev/v5/client/grpc"
	"go-micro.dev/v5/errors"
	"go-micro.dev/v5/metadata"
	"go-micro.dev/v5/registry"
	"go-micro.dev/v5/registry/consul"
	"go-micro.dev/v5/selector"
	"go-micro.dev/v5/server"
	grpcserver "go-micro.dev/v5/server/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

var out = struct {
	sync.Mutex
	*json.Encoder
}{Encoder: json.NewEncoder(os.Stdout)}

// emit writes one JSON line; os.Stdout is unbuffered, so each line is written whole.
func emit(v any) {
	out.Lock()
	defer out.Unlock()
	if err := out.Encode(v); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gomicro:", err)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: gomicro serve|call|list|publish|subscribe [flags]"))
	}
	flags := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	where := flags.String("registry", "mdns", `a Consul agent's host:port, "mdns" or "memory"`)
	name := flags.String("name", "go.greeter", "serve: the service name")
	service := flags.String("service", "", "call: the service to call")
	endpoint := flags.String("endpoint", "Greeter.Hello", "call: the endpoint")
	body := flags.String("body", "{}", "call: the JSON request")
	count := flags.Int("count", 1, "call, publish: how many")
	concurrency := flags.Int("concurrency", 1, "call: calls in flight")
	md := flags.String("metadata", "", "call: metadata k=v,k=v sent with each call")
	timeout := flags.Duration("timeout", 10*time.Second, "call: per-call timeout")
	address := flags.String("address", "", "call: this host:port instead of discovery")
	useGRPC := flags.Bool("grpc", false, "serve, call: Go Micro's gRPC server or client")
	contentType := flags.String("content-type", "application/json", "call: the request's codec")
	topic := flags.String("topic", "", "publish, subscribe: the topic")
	queue := flags.String("queue", "", "subscribe: the queue group (none: broadcast)")
	_ = flags.Parse(os.Args[2:])

	var reg registry.Registry
	switch *where {
	case "mdns":
		reg = registry.NewMDNSRegistry()
	case "memory":
		reg = registry.NewMemoryRegistry()
	default:
		reg = consul.NewConsulRegistry(registry.Addrs(*where))
	}
	// A process-wide broker that Go Micro's defaults would otherwise tie to mDNS.
	broker.DefaultBroker = broker.NewHttpBroker(broker.Registry(reg), broker.Addrs("127.0.0.1:0"))
	switch os.Args[1] {
	case "serve":
		newServer := server.NewRPCServer
		if *useGRPC {
			newServer = grpcserver.NewServer
		}
		serve(newServer, reg, *name)
	case "call":
		newClient := client.NewClient
		if *useGRPC {
			newClient = grpcclient.NewClient
		}
		c := newClient(
			client.Registry(reg),
			client.Selector(selector.NewSelector(selector.Registry(reg))),
			client.RequestTimeout(*timeout),
			client.PoolSize(*concurrency+4),
			client.ContentType(*contentType),
		)
		call(c, *service, *endpoint, *body, *count, *concurrency, parseMetadata(*md), *address)
	case "list":
		list(reg)
	case "publish":
		publish(*topic, *count)
	case "subscribe":
		subscribe(*topic, *queue)
	default:
		fail(fmt.Errorf("unknown command %q", os.Args[1]))
	}
}

// Request is what Greeter's endpoints take.
type Request struct {
	Name   string `json:"name"`
	Code   int32  `json:"code"`
	Detail string `json:"detail"`
}

// Reply is what they answer: a greeting and the metadata the call carried.
type Reply struct {
	Msg      string            `json:"msg"`
	Metadata map[string]string `json:"metadata"`
}

// Greeter is the Go service micro's tests call.
type Greeter struct{ name string }

// Hello greets and echoes the call's metadata.
func (g *Greeter) Hello(ctx context.Context, req *Request, rsp *Reply) error {
	md, _ := metadata.FromContext(ctx)
	rsp.Msg = "hello " + req.Name + " from go"
	rsp.Metadata = md
	return nil
}

// Fail answers the error the request asks for, raised under the service's own id.
func (g *Greeter) Fail(ctx context.Context, req *Request, rsp *Reply) error {
	return errors.New(g.name, req.Detail, req.Code)
}

// Payload is what Echo takes and answers: the benchmark's request.
type Payload struct {
	Data string `json:"data"`
}

// Echo answers its request.
func (g *Greeter) Echo(ctx context.Context, req *Payload, rsp *Payload) error {
	rsp.Data = req.Data
	return nil
}

// Upper answers its text in upper case: a protobuf endpoint (a well-known type, so no
// generated code on either side).
func (g *Greeter) Upper(ctx context.Context, req *wrapperspb.StringValue, rsp *wrapperspb.StringValue) error {
	rsp.Value = strings.ToUpper(req.Value)
	return nil
}

// Refuse answers a 409 under the service's own id, its detail the request's text: an
// error from a protobuf endpoint.
func (g *Greeter) Refuse(ctx context.Context, req *wrapperspb.StringValue, rsp *wrapperspb.StringValue) error {
	return errors.New(g.name, req.Value, 409)
}

func serve(newServer func(...server.Option) server.Server, reg registry.Registry, name string) {
	srv := newServer(
		server.Name(name),
		server.Address("127.0.0.1:0"),
		server.Registry(reg),
		server.Broker(broker.DefaultBroker),
		server.RegisterTTL(30*time.Second),
		server.RegisterInterval(10*time.Second),
	)
	if err := srv.Handle(srv.NewHandler(&Greeter{name: name})); err != nil {
		fail(err)
	}
	if err := srv.Start(); err != nil {
		fail(err)
	}
	emit(map[string]string{"ready": srv.Options().Address, "id": srv.Options().Name + "-" + srv.Options().Id})
	waitForSignal()
	if err := srv.Stop(); err != nil {
		fail(err)
	}
}

func parseMetadata(text string) map[string]string {
	md := map[string]string{}
	for _, pair := range strings.Split(text, ",") {
		if k, v, ok := strings.Cut(pair, "="); ok {
			md[k] = v
		}
	}
	return md
}

// call makes count calls, concurrency at a time, and reports them as one JSON line:
// how many failed, how long it all took, the median and 99th percentile latency, the
// first reply and the distinct errors.
//
// With a protobuf content type the body is the text of a StringValue, and so is the reply.
func call(c client.Client, service, endpoint, body string, count, concurrency int,
	md map[string]string, address string) {
	proto := strings.Contains(c.Options().ContentType, "proto")
	ctx := metadata.NewContext(context.Background(), md)
	var opts []client.CallOption
	if address != "" {
		opts = append(opts, client.WithAddress(address))
	}
	latencies := make([]time.Duration, count)
	var next, failures atomic.Int64
	var mu sync.Mutex
	var first json.RawMessage
	seen := map[string]*errors.Error{}
	var wg sync.WaitGroup
	started := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := next.Add(1); n <= int64(count); n = next.Add(1) {
				var reply json.RawMessage
				var err error
				sent := time.Now()
				if proto {
					out := &wrapperspb.StringValue{}
					req := c.NewRequest(service, endpoint, wrapperspb.String(body))
					if err = c.Call(ctx, req, out, opts...); err == nil {
						reply, _ = json.Marshal(out.Value)
					}
				} else {
					req := c.NewRequest(service, endpoint, json.RawMessage(body))
					err = c.Call(ctx, req, &reply, opts...)
				}
				latencies[n-1] = time.Since(sent)
				mu.Lock()
				if err != nil {
					failures.Add(1)
					seen[err.Error()] = errors.Parse(err.Error())
				} else if first == nil {
					first = reply
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(started).Seconds()
	errs := []*errors.Error{}
	for _, e := range seen {
		errs = append(errs, e)
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	ms := func(q float64) float64 { return latencies[int(q*float64(count-1))].Seconds() * 1000 }
	emit(map[string]any{"calls": count, "failures": failures.Load(), "seconds": elapsed,
		"p50_ms": ms(0.5), "p99_ms": ms(0.99), "reply": first, "errors": errs})
}

func list(reg registry.Registry) {
	services, err := reg.ListServices()
	if err != nil {
		fail(err)
	}
	found := []*registry.Service{}
	for _, s := range services {
		full, err := reg.GetService(s.Name)
		if err != nil {
			fail(fmt.Errorf("get %s: %w", s.Name, err))
		}
		found = append(found, full...)
	}
	emit(map[string]any{"services": found})
}

func publish(topic string, count int) {
	if err := broker.Connect(); err != nil {
		fail(err)
	}
	for i := 0; i < count; i++ {
		msg := &broker.Message{
			Header: map[string]string{"Seq": strconv.Itoa(i), "Content-Type": "application/json"},
			Body:   []byte(fmt.Sprintf(`{"seq": %d}`, i)),
		}
		if err := broker.Publish(topic, msg); err != nil {
			fail(err)
		}
	}
	// Go Micro's http broker sends in the background: give it time before exiting.
	time.Sleep(2 * time.Second)
	emit(map[string]int{"published": count})
}

func subscribe(topic, queue string) {
	if err := broker.Connect(); err != nil {
		fail(err)
	}
	var opts []broker.SubscribeOption
	if queue != "" {
		opts = append(opts, broker.Queue(queue))
	}
	handler := func(e broker.Event) error {
		m := e.Message()
		emit(map[string]any{"header": m.Header, "body": string(m.Body)})
		return nil
	}
	if _, err := broker.Subscribe(topic, handler, opts...); err != nil {
		fail(err)
	}
	emit(map[string]string{"ready": broker.DefaultBroker.Address()})
	waitForSignal()
	_ = broker.Disconnect()
}

func waitForSignal() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	<-stop
}
