package cluster_test

import (
	"context"
	"fmt"
	"os"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/cluster"
)

// A process starts an embedded server, appends to a stream and reads it
// back; other processes would join with cluster.Config{URLs:
// []string{c.URL()}} (or nats://HOST:PORT from other hosts).
func Example() {
	ctx := context.Background()
	store, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(store)
	c, err := cluster.Connect(ctx, cluster.Config{Embedded: true, Host: "127.0.0.1", Port: -1, StoreDir: store, Name: "ingest"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	jobs, err := c.Stream(ctx, "jobs")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, job := range []string{"a", "b", "c"} {
		if err := jobs.Publish(ctx, camel.Event{Body: []byte(job), ContentType: "text/plain"}); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := jobs.Flush(ctx); err != nil { // the three are durable now
		fmt.Println(err)
		return
	}
	got := make(chan string)
	sub, err := jobs.Subscribe(ctx, "log", cluster.Broadcast, func(ev camel.Event, done func(error)) {
		got <- string(ev.Body) + " as " + ev.ContentType
		done(nil)
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sub.Close()
	for range 3 {
		fmt.Println(<-got)
	}
	// Output:
	// a as text/plain
	// b as text/plain
	// c as text/plain
}
