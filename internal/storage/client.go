package storage

import (
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// ClientConfig configures a client of external etcd servers.
type ClientConfig struct {
	// Endpoints are the etcd client URLs (--etcd-servers), such as
	// https://10.0.0.1:2379.
	Endpoints []string
	// CertFile and KeyFile are a client certificate, CAFile the CA that
	// signed the servers' certificates (all optional; https endpoints
	// without CAFile use the system roots).
	CertFile, KeyFile, CAFile string
	// DialTimeout bounds the first connection (default 10s).
	DialTimeout time.Duration
}

// NewClient returns a client of the etcd servers in cfg. Requests use the
// caller's contexts; the client retries across endpoints.
func NewClient(cfg ClientConfig) (*clientv3.Client, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("etcd client: no endpoints")
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	var tlsConfig *tls.Config
	if cfg.CertFile != "" || cfg.KeyFile != "" || cfg.CAFile != "" {
		info := transport.TLSInfo{CertFile: cfg.CertFile, KeyFile: cfg.KeyFile, TrustedCAFile: cfg.CAFile}
		c, err := info.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("etcd client TLS: %w", err)
		}
		tlsConfig = c
	}
	client, err := clientv3.New(clientv3.Config{
		Endpoints:            cfg.Endpoints,
		DialTimeout:          cfg.DialTimeout,
		DialKeepAliveTime:    30 * time.Second,
		DialKeepAliveTimeout: 10 * time.Second,
		TLS:                  tlsConfig,
		Logger:               warnLogger(),
		MaxCallRecvMsgSize:   1 << 30,
	})
	if err != nil {
		return nil, fmt.Errorf("etcd client %v: %w", cfg.Endpoints, err)
	}
	return client, nil
}
