package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/httpstream/wsstream"
	remotecommandconsts "k8s.io/apimachinery/pkg/util/remotecommand"
	"k8s.io/client-go/tools/remotecommand"
	criremotecommand "k8s.io/kubelet/pkg/cri/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"

	"github.com/peapod/peapod/internal/runtime"
)

// streamCreationTimeout bounds how long SPDY clients take to open their
// streams (the kubelet's default).
const streamCreationTimeout = remotecommandconsts.DefaultStreamCreationTimeout

// streamOptions reads which streams a client wants: kubectl's
// stdin/stdout/stderr/tty=true (also CRI's input/output/error=1). With a
// TTY, stderr is merged into stdout and not opened.
func streamOptions(q url.Values) (*criremotecommand.Options, error) {
	flag := func(names ...string) bool {
		for _, n := range names {
			if b, err := strconv.ParseBool(q.Get(n)); err == nil && b {
				return true
			}
		}
		return false
	}
	o := &criremotecommand.Options{
		Stdin:  flag("stdin", "input"),
		Stdout: flag("stdout", "output"),
		Stderr: flag("stderr", "error"),
		TTY:    flag("tty"),
	}
	if o.TTY {
		o.Stderr = false
	}
	if !o.Stdin && !o.Stdout && !o.Stderr {
		return nil, errors.New("you must specify at least 1 of stdin, stdout, stderr")
	}
	return o, nil
}

// execStatus is the Status written on the error channel when an exec
// ends: Success, NonZeroExitCode with the ExitCode cause, or an internal
// error.
func execStatus(code int, err error) metav1.Status {
	switch {
	case err != nil:
		return apierrors.NewInternalError(fmt.Errorf("error executing command in container: %w", err)).ErrStatus
	case code == 0:
		return metav1.Status{Status: metav1.StatusSuccess}
	}
	return metav1.Status{
		Status:  metav1.StatusFailure,
		Reason:  remotecommandconsts.NonZeroExitCodeReason,
		Message: fmt.Sprintf("command terminated with non-zero exit code: exit status %d", code),
		Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{
			Type:    remotecommandconsts.ExitCodeCauseType,
			Message: strconv.Itoa(code),
		}}},
	}
}

func (s *server) serveExec(w http.ResponseWriter, r *http.Request) {
	s.serveRemoteCommand(w, r, r.URL.Query()["command"])
}

func (s *server) serveAttach(w http.ResponseWriter, r *http.Request) {
	s.serveRemoteCommand(w, r, nil)
}

// serveRemoteCommand serves exec (cmd set) and attach (cmd nil).
func (s *server) serveRemoteCommand(w http.ResponseWriter, r *http.Request, cmd []string) {
	ns, pod, container := r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container")
	exec := strings.HasPrefix(r.URL.Path, "/exec/")
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		writeStatus(w, apierrors.NewMethodNotSupported(podsResource, r.Method))
		return
	}
	if exec && len(cmd) == 0 {
		writeStatus(w, apierrors.NewBadRequest("you must specify at least one command for the container"))
		return
	}
	opts, err := streamOptions(r.URL.Query())
	if err != nil {
		writeStatus(w, apierrors.NewBadRequest(err.Error()))
		return
	}
	ref, err := s.cfg.Pods.LookupContainer(r.Context(), ns, pod, container, false)
	if err == nil {
		if st, serr := s.cfg.Runtime.ContainerStatus(r.Context(), ref.ID); serr != nil || st.State != runtime.ContainerRunning {
			err = fmt.Errorf("%w: not running", runtime.ErrInvalidState)
		}
	}
	if err != nil {
		writeStatus(w, lookupError(err, pod, container))
		return
	}
	a := &containerStreams{rt: s.cfg.Runtime, id: ref.ID}
	if wsstream.IsWebSocketRequest(r) && offers(r, remotecommandconsts.StreamProtocolV5Name) {
		s.serveWebSocketV5(w, r, a, cmd, exec, opts)
		return
	}
	// SPDY v1-v4 and WebSocket v1-v4.
	if exec {
		criremotecommand.ServeExec(w, r, a, pod, "", container, cmd, opts, s.cfg.StreamIdleTimeout, streamCreationTimeout, remotecommandconsts.SupportedStreamingProtocols)
	} else {
		criremotecommand.ServeAttach(w, r, a, pod, "", container, opts, s.cfg.StreamIdleTimeout, streamCreationTimeout, remotecommandconsts.SupportedStreamingProtocols)
	}
}

// offers reports whether the client offers a WebSocket subprotocol.
func offers(r *http.Request, protocol string) bool {
	for _, h := range r.Header.Values(wsstream.WebSocketProtocolHeader) {
		for _, p := range strings.Split(h, ",") {
			if strings.TrimSpace(p) == protocol {
				return true
			}
		}
	}
	return false
}

// WebSocket v5 channels.
const (
	chanStdin = iota
	chanStdout
	chanStderr
	chanError
	chanResize
)

// serveWebSocketV5 runs exec or attach over v5.channel.k8s.io, as the
// API server's createWebSocketStreams sets it up.
func (s *server) serveWebSocketV5(w http.ResponseWriter, r *http.Request, a *containerStreams, cmd []string, exec bool, opts *criremotecommand.Options) {
	channels := make([]wsstream.ChannelType, 5)
	if opts.Stdin {
		channels[chanStdin] = wsstream.ReadChannel
	}
	if opts.Stdout {
		channels[chanStdout] = wsstream.WriteChannel
	}
	if opts.Stderr {
		channels[chanStderr] = wsstream.WriteChannel
	}
	channels[chanError] = wsstream.WriteChannel
	if opts.TTY {
		channels[chanResize] = wsstream.ReadChannel
	}
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		remotecommandconsts.StreamProtocolV5Name: {Binary: true, Channels: channels},
	})
	conn.SetIdleTimeout(s.cfg.StreamIdleTimeout)
	_, streams, err := conn.Open(w, r)
	if err != nil {
		s.cfg.Logf("exec websocket: %v", err)
		return
	}
	defer conn.Close()
	st := runtime.Streams{TTY: opts.TTY}
	if opts.Stdin {
		st.Stdin = streams[chanStdin]
	}
	if opts.Stdout {
		st.Stdout = streams[chanStdout]
	}
	if opts.Stderr {
		st.Stderr = streams[chanStderr]
	}
	done := make(chan struct{})
	defer close(done)
	// The WebSocket server reads through the hijacked connection's
	// buffered reader, so the request context ends when the client goes
	// away; the runtime then kills the command.
	ctx := r.Context()
	if opts.TTY {
		resize := make(chan remotecommand.TerminalSize)
		go readResizes(streams[chanResize], resize, done)
		st.Resize = resize
	}
	var status metav1.Status
	if exec {
		code, err := a.rt.Exec(ctx, a.id, cmd, st)
		status = execStatus(code, err)
	} else {
		err := a.rt.Attach(ctx, a.id, st)
		status = execStatus(0, err)
	}
	if ctx.Err() != nil {
		s.cfg.Logf("exec/attach %s: the client went away; ended", a.id)
		return
	}
	b, _ := json.Marshal(&status)
	streams[chanError].Write(b)
}

// readResizes decodes {"Width":w,"Height":h} messages into ch until the
// stream ends or done is closed, then closes ch.
func readResizes(r io.Reader, ch chan<- remotecommand.TerminalSize, done <-chan struct{}) {
	defer close(ch)
	dec := json.NewDecoder(r)
	for {
		var sz remotecommand.TerminalSize
		if err := dec.Decode(&sz); err != nil {
			return
		}
		select {
		case ch <- sz:
		case <-done:
			return
		}
	}
}

// containerStreams adapts runtime exec and attach to the kubelet's
// streaming Executor and Attacher, for one container.
type containerStreams struct {
	rt Streamer
	id string
}

var (
	_ criremotecommand.Executor = (*containerStreams)(nil)
	_ criremotecommand.Attacher = (*containerStreams)(nil)
)

func (a *containerStreams) streams(in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) runtime.Streams {
	st := runtime.Streams{Stdin: in, TTY: tty, Resize: resize}
	if out != nil {
		st.Stdout = out
	}
	if errw != nil {
		st.Stderr = errw
	}
	return st
}

// ExecInContainer runs cmd; a non-zero exit is a utilexec.CodeExitError,
// which ServeExec reports as NonZeroExitCode.
func (a *containerStreams) ExecInContainer(ctx context.Context, _ string, _ types.UID, _ string, cmd []string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration) error {
	code, err := a.rt.Exec(ctx, a.id, cmd, a.streams(in, out, errw, tty, resize))
	if err != nil {
		return err
	}
	if code != 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("exit status %d", code), Code: code}
	}
	return nil
}

func (a *containerStreams) AttachContainer(ctx context.Context, _ string, _ types.UID, _ string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
	return a.rt.Attach(ctx, a.id, a.streams(in, out, errw, tty, resize))
}
