// Command gomicro is a Go Micro peer for micro's Kafka interoperability tests. It goes
// through Go Micro's own Kafka broker plugin, so the record format under test is Go
// Micro's and not a second implementation of it.
//
//	gomicro publish -addr A -topic T -count N
//	gomicro subscribe -addr A -topic T -queue Q
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"

	"github.com/go-micro/plugins/v4/broker/kafka"
	"go-micro.dev/v4/broker"
)

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "publish" && os.Args[1] != "subscribe") {
		fail(fmt.Errorf("usage: gomicro publish|subscribe -addr A -topic T [-count N] [-queue Q]"))
	}
	flags := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	addr := flags.String("addr", "127.0.0.1:9092", "Kafka bootstrap address")
	topic := flags.String("topic", "", "topic to publish to or subscribe on")
	count := flags.Int("count", 1, "publish: how many messages")
	queue := flags.String("queue", "", "subscribe: the queue (Kafka consumer group), required")
	_ = flags.Parse(os.Args[2:])

	b := kafka.NewBroker(broker.Addrs(*addr))
	if err := b.Connect(); err != nil {
		fail(err)
	}
	defer b.Disconnect()
	if os.Args[1] == "publish" {
		for i := 0; i < *count; i++ {
			msg := &broker.Message{
				Header: map[string]string{"Seq": strconv.Itoa(i)},
				Body:   []byte(fmt.Sprintf(`{"seq": %d}`, i)),
			}
			if err := b.Publish(*topic, msg); err != nil {
				fail(err)
			}
		}
	} else {
		subscribe(b, *topic, *queue)
	}
}

// subscribe prints each message as one JSON line until SIGTERM. The plugin's consumer
// group joins in the background after Subscribe returns (its Setup hook is not ours),
// so "ready" only means subscribed: the test publishes until its messages come through.
func subscribe(b broker.Broker, topic, queue string) {
	if queue == "" { // broker.Queue("") would name the group "", not make a group of its own
		fail(fmt.Errorf("subscribe needs -queue"))
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	var mu sync.Mutex                 // one goroutine per partition calls the handler
	out := json.NewEncoder(os.Stdout) // os.Stdout is unbuffered: each line is written whole
	handler := func(e broker.Event) error {
		m := e.Message()
		mu.Lock()
		defer mu.Unlock()
		return out.Encode(map[string]any{"header": m.Header, "body": string(m.Body)})
	}
	if _, err := b.Subscribe(topic, handler, broker.Queue(queue)); err != nil {
		fail(err)
	}
	fmt.Println("ready")
	<-stop
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gomicro:", err)
	os.Exit(1)
}
