package storage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// EmbeddedConfig configures an embedded etcd.
type EmbeddedConfig struct {
	// DataDir is etcd's directory, usually <peapod data-dir>/etcd.
	DataDir string
	// ClientPort is the 127.0.0.1 port etcd serves clients on. 0 reuses
	// the port of the previous start (kept in DataDir/client-url) or picks
	// a free one.
	ClientPort int
	// StartTimeout bounds the start (default 30s).
	StartTimeout time.Duration
}

// Embedded is an etcd server running inside this process, listening on
// 127.0.0.1 only, with a client connected to it.
type Embedded struct {
	etcd      *embed.Etcd
	client    *clientv3.Client
	clientURL string
}

// clientURLFile keeps the client URL in the data dir so a restart serves
// on the same port (and tools such as etcdctl can find it).
const clientURLFile = "client-url"

func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// StartEmbedded starts etcd in cfg.DataDir and connects a client to it.
// Its logs go to stderr at warn level. Stop it with Close.
func StartEmbedded(ctx context.Context, cfg EmbeddedConfig) (*Embedded, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("embedded etcd: no data dir")
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 30 * time.Second
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	if err := os.Chmod(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	var (
		e                  *embed.Etcd
		clientURL, peerURL url.URL
	)
	for attempt := 0; ; attempt++ {
		var err error
		if clientURL, peerURL, err = embeddedURLs(cfg, attempt == 0); err != nil {
			return nil, err
		}
		e, err = embed.StartEtcd(embeddedConfig(cfg, clientURL, peerURL))
		if err == nil {
			break
		}
		// A port found free was taken before etcd listened on it (another
		// process between the check and the bind): choose again.
		if attempt < 2 && cfg.ClientPort == 0 && isAddrInUse(err) {
			continue
		}
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	case <-time.After(cfg.StartTimeout):
		e.Server.Stop()
		e.Close()
		return nil, fmt.Errorf("embedded etcd: not ready after %s", cfg.StartTimeout)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	// The server talks to its own etcd by function calls, not gRPC over
	// loopback: no encoding, HTTP/2 framing and decoding of every request
	// on both sides. etcdctl and other tools use clientURL.
	client := v3client.New(e.Server)
	if err := os.WriteFile(filepath.Join(cfg.DataDir, clientURLFile), []byte(clientURL.String()+"\n"), 0o600); err != nil {
		client.Close()
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	return &Embedded{etcd: e, client: client, clientURL: clientURL.String()}, nil
}

// embeddedConfig is the embedded etcd's configuration for cfg, listening
// on clientURL and peerURL.
func embeddedConfig(cfg EmbeddedConfig, clientURL, peerURL url.URL) *embed.Config {
	ec := embed.NewConfig()
	ec.Name = "peapod"
	ec.Dir = cfg.DataDir
	ec.ListenClientUrls = []url.URL{clientURL}
	ec.AdvertiseClientUrls = []url.URL{clientURL}
	ec.ListenPeerUrls = []url.URL{peerURL}
	ec.AdvertisePeerUrls = []url.URL{peerURL}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	ec.Logger = "zap"
	ec.LogLevel = "warn"
	ec.LogOutputs = []string{"stderr"}
	ec.EnableGRPCGateway = false
	// Our own limit (MaxObjectSize) answers first with ErrTooLarge; leave
	// room for the transaction around the value.
	ec.MaxRequestBytes = 2 * 1024 * 1024
	ec.ExperimentalWatchProgressNotifyInterval = 5 * time.Second
	// Snapshot the raft log more often than etcd's default (100,000
	// entries, kept in memory): it holds every written object. After a
	// snapshot etcd keeps SnapshotCatchUpEntries for slow followers; a
	// single member has none, so keep few (default 5,000). At most about
	// 6,000 recent writes stay in memory (~9 MB of 1.5 KB pods).
	ec.SnapshotCount = 5000
	ec.SnapshotCatchUpEntries = 1000
	// Listing thousands of objects legitimately takes over etcd's default
	// 100 ms; warn only about really slow requests.
	ec.ExperimentalWarningApplyDuration = time.Second
	return ec
}

// embeddedURLs chooses the client and peer URLs: cfg.ClientPort, else
// (when persisted may be used) the client port of the last run if it is
// free, else a free one; a free peer port.
func embeddedURLs(cfg EmbeddedConfig, persisted bool) (client, peer url.URL, err error) {
	clientPort := cfg.ClientPort
	if clientPort == 0 && persisted {
		if data, err := os.ReadFile(filepath.Join(cfg.DataDir, clientURLFile)); err == nil {
			if u, err := url.Parse(strings.TrimSpace(string(data))); err == nil {
				if p, err := strconv.Atoi(u.Port()); err == nil && portFree(p) {
					clientPort = p
				}
			}
		}
	}
	if clientPort == 0 {
		if clientPort, err = freeLoopbackPort(); err != nil {
			return client, peer, fmt.Errorf("embedded etcd: choosing a client port: %w", err)
		}
	}
	peerPort, err := freeLoopbackPort()
	if err != nil {
		return client, peer, fmt.Errorf("embedded etcd: choosing a peer port: %w", err)
	}
	client = url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(clientPort))}
	peer = url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(peerPort))}
	return client, peer, nil
}

// isAddrInUse tells a listen that failed because the port is taken.
func isAddrInUse(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use")
}

// Client is connected to the embedded etcd in-process (function calls,
// no network); Close closes it. It has no endpoints: Status takes any.
func (e *Embedded) Client() *clientv3.Client { return e.client }

// ClientURL is the URL etcd serves clients on, e.g. http://127.0.0.1:43127
// (usable with etcdctl --endpoints).
func (e *Embedded) ClientURL() string { return e.clientURL }

// Close closes the client and stops etcd, waiting for it to finish.
func (e *Embedded) Close() error {
	err := e.client.Close()
	e.etcd.Close()
	<-e.etcd.Server.StopNotify()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// warnLogger is a zap logger at warn level for the etcd client.
func warnLogger() *zap.Logger {
	zc := zap.NewProductionConfig()
	zc.Level = zap.NewAtomicLevelAt(zapcore.WarnLevel)
	zc.Sampling = nil
	l, err := zc.Build()
	if err != nil {
		return zap.NewNop()
	}
	return l
}
