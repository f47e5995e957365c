package storage

import (
	"errors"
	"net"
	"testing"
)

// TestIsAddrInUse: the error of a listen on a taken port is what makes
// StartEmbedded choose its ports again (another process took one between
// the free-port check and etcd's listen); other errors are not.
func TestIsAddrInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = net.Listen("tcp", l.Addr().String())
	if err == nil || !isAddrInUse(err) {
		t.Fatalf("listen on a taken port: %v", err)
	}
	if isAddrInUse(errors.New("permission denied")) {
		t.Fatal("another error taken for a port in use")
	}
}
