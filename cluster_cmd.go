package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rayvens/rayvens/builtins"
	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/cluster"
	"github.com/rayvens/rayvens/plugins"
)

// clusterFlags are the flags of `rayvens run` that share its streams with
// other processes through NATS JetStream (see docs/cluster.md).
func clusterFlags() []cli.Flag {
	const category = "cluster (docs/cluster.md)"
	return []cli.Flag{
		&cli.StringFlag{Name: "cluster", EnvVars: []string{"RAYVENS_CLUSTER"}, Category: category,
			Usage: "share the streams with other processes: `URL` is nats://HOST:PORT[,nats://...] of NATS servers with JetStream, or embedded[:[HOST:]PORT] to run one in this process"},
		&cli.StringFlag{Name: "cluster-store", Category: category,
			Usage: "where the embedded server keeps the streams: `DIR` survives restarts (default: a temporary directory removed at exit)"},
		&cli.StringFlag{Name: "cluster-namespace", Value: "rayvens", EnvVars: []string{"RAYVENS_CLUSTER_NAMESPACE"}, Category: category,
			Usage: "`NAMESPACE` of the streams, so that teams can share one NATS (letters, digits and -)"},
		&cli.StringFlag{Name: "name", EnvVars: []string{"RAYVENS_NAME"}, Category: category,
			Usage: "this process's identity in the cluster: `NAME` names its subscriptions, which a restart with the same name resumes (default: the script's file name without .star)"},
		&cli.StringFlag{Name: "cluster-user", EnvVars: []string{"RAYVENS_CLUSTER_USER"}, Category: category,
			Usage: "`USER` to log in to NATS with (the embedded server then requires it)"},
		&cli.StringFlag{Name: "cluster-password", EnvVars: []string{"RAYVENS_CLUSTER_PASSWORD"}, Category: category,
			Usage: "`PASSWORD` of --cluster-user (prefer the environment variable: a flag shows in ps)"},
		&cli.StringFlag{Name: "cluster-token", EnvVars: []string{"RAYVENS_CLUSTER_TOKEN"}, Category: category,
			Usage: "`TOKEN` to log in to NATS with, instead of a user"},
		&cli.StringFlag{Name: "cluster-ca", Category: category,
			Usage: "PEM `FILE` of the authorities that sign the NATS servers' TLS certificates (tls:// URLs)"},
		&cli.IntFlag{Name: "cluster-replicas", Value: 1, Category: category,
			Usage: "`N` servers keep each stream the process creates (3 survives losing one of a three-server cluster)"},
		&cli.DurationFlag{Name: "cluster-ack-wait", Value: 5 * time.Second, Category: category,
			Usage: "how long the cluster waits for a process that stopped answering before it gives its events to another (or its next run): `DURATION`"},
	}
}

// namespaceRE is what Config.Namespace accepts.
var namespaceRE = regexp.MustCompile(`^[A-Za-z0-9-]+$`)

// connectCluster connects to the cluster of the --cluster flags, or returns
// nil without them. The embedded server's temporary store goes in the
// host's run directory, so that even a killed run leaves nothing behind
// (the next run removes it).
func connectCluster(ctx context.Context, c *cli.Context, host *plugins.Host, script string) (*cluster.Cluster, error) {
	url := c.String("cluster")
	if url == "" {
		for _, f := range []string{"cluster-store", "cluster-user", "cluster-password", "cluster-token", "cluster-ca"} {
			if c.IsSet(f) && c.String(f) != "" {
				return nil, usageError{fmt.Errorf("run: --%s needs --cluster", f)}
			}
		}
		return nil, nil
	}
	cfg, err := cluster.ParseURL(url)
	if err != nil {
		return nil, usageError{fmt.Errorf("run: --cluster: %w", err)}
	}
	cfg.Namespace = c.String("cluster-namespace")
	if !namespaceRE.MatchString(cfg.Namespace) {
		return nil, usageError{fmt.Errorf("run: --cluster-namespace must be letters, digits and -, got %q", cfg.Namespace)}
	}
	cfg.Name = c.String("name")
	if cfg.Name == "" {
		cfg.Name = strings.TrimSuffix(filepath.Base(script), ".star")
	}
	cfg.Username, cfg.Password, cfg.Token = c.String("cluster-user"), c.String("cluster-password"), c.String("cluster-token")
	if cfg.Password != "" && cfg.Username == "" {
		return nil, usageError{fmt.Errorf("run: --cluster-password needs --cluster-user")}
	}
	cfg.CAFile = c.String("cluster-ca")
	cfg.Replicas = c.Int("cluster-replicas")
	if cfg.Replicas < 1 || cfg.Replicas > 5 {
		return nil, usageError{fmt.Errorf("run: --cluster-replicas must be from 1 to 5, got %d", cfg.Replicas)}
	}
	cfg.AckWait = c.Duration("cluster-ack-wait")
	if cfg.AckWait < 100*time.Millisecond {
		return nil, usageError{fmt.Errorf("run: --cluster-ack-wait must be at least 100ms, got %s", cfg.AckWait)}
	}
	if store := c.String("cluster-store"); store != "" {
		if !cfg.Embedded {
			return nil, usageError{fmt.Errorf("run: --cluster-store is for --cluster embedded: the servers of %s keep their own store", url)}
		}
		cfg.StoreDir = store
	} else if cfg.Embedded {
		dir, err := host.RunDir()
		if err != nil {
			return nil, fmt.Errorf("run: cannot make the embedded cluster's store: %w", err)
		}
		cfg.StoreDir = filepath.Join(dir, "cluster-store")
	}
	cfg.Log = clusterLog(c.App.ErrWriter)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cl, err := cluster.Connect(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("run: --cluster: %w", err)
	}
	return cl, nil
}

// clusterLog writes the cluster's warnings (a server lost, a reconnect)
// to stderr as the run's other messages are.
func clusterLog(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: slog.LevelWarn,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// scriptCluster adapts a cluster to what scripts need (builtins.Cluster),
// which the builtins declare so that they stay free of NATS.
type scriptCluster struct{ c *cluster.Cluster }

func (sc scriptCluster) Stream(ctx context.Context, name string) (builtins.ClusterStream, error) {
	s, err := sc.c.Stream(ctx, name)
	if err != nil {
		return nil, err
	}
	return scriptClusterStream{s}, nil
}

type scriptClusterStream struct{ *cluster.Stream }

func (s scriptClusterStream) Subscribe(ctx context.Context, sub string, workQueue bool, handle func(camel.Event, func(error))) (builtins.ClusterSubscription, error) {
	mode := cluster.Broadcast
	if workQueue {
		mode = cluster.WorkQueue
	}
	x, err := s.Stream.Subscribe(ctx, sub, mode, handle)
	if err != nil {
		return nil, err // not a nil *Subscription in an interface
	}
	return x, nil
}
