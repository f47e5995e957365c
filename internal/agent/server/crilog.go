package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// The CRI log format, one line per write: "<RFC3339Nano> <stream> <tag> <msg>\n"
// where stream is stdout or stderr and tag is F (full line) or P (partial:
// the message continues in the stream's next line), possibly followed by
// ":"-separated further tags.

// timestampFormat is how the kubelet prints timestamps (fixed 9 digits).
const timestampFormat = "2006-01-02T15:04:05.000000000Z07:00"

var errBadLogLine = errors.New("malformed CRI log line")

// logEntry is one parsed line of a CRI log.
type logEntry struct {
	ts      time.Time
	stream  string // "stdout" or "stderr"
	partial bool
	msg     []byte // without the trailing newline
}

// parseCRILine parses one line (with or without its newline).
func parseCRILine(line []byte) (logEntry, error) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	var e logEntry
	ts, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok {
		return e, fmt.Errorf("%w: no timestamp: %q", errBadLogLine, line)
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return e, fmt.Errorf("%w: timestamp: %v", errBadLogLine, err)
	}
	stream, rest, ok := bytes.Cut(rest, []byte(" "))
	if !ok || (string(stream) != "stdout" && string(stream) != "stderr") {
		return e, fmt.Errorf("%w: stream %q", errBadLogLine, stream)
	}
	tags, msg, ok := bytes.Cut(rest, []byte(" "))
	if !ok {
		// "ts stdout F" with an empty message has no trailing space in
		// some writers.
		tags, msg = rest, nil
	}
	first, _, _ := bytes.Cut(tags, []byte(":"))
	switch string(first) {
	case "F":
	case "P":
		e.partial = true
	default:
		return e, fmt.Errorf("%w: tag %q", errBadLogLine, tags)
	}
	e.ts, e.stream, e.msg = t, string(stream), msg
	return e, nil
}

// logOptions are a /containerLogs request's query, decided at `now`.
type logOptions struct {
	follow     bool
	previous   bool
	tail       int64 // -1: all lines
	since      time.Time
	timestamps bool
	limitBytes int64 // -1: no limit
}

// parseLogOptions reads kubectl's query parameters (v1.PodLogOptions),
// returning every problem at once.
func parseLogOptions(q url.Values, now time.Time) (logOptions, error) {
	o := logOptions{tail: -1, limitBytes: -1}
	var errs []error
	boolean := func(name string, dst *bool) {
		if v := q.Get(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a boolean", name, v))
			}
			*dst = b
		}
	}
	integer := func(name string, min int64) (int64, bool) {
		v := q.Get(name)
		if v == "" {
			return 0, false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not an integer", name, v))
			return 0, false
		}
		if n < min {
			errs = append(errs, fmt.Errorf("%s: must be greater than or equal to %d", name, min))
			return 0, false
		}
		return n, true
	}
	boolean("follow", &o.follow)
	boolean("previous", &o.previous)
	boolean("timestamps", &o.timestamps)
	if n, ok := integer("tailLines", 0); ok {
		o.tail = n
	}
	if n, ok := integer("limitBytes", 1); ok {
		o.limitBytes = n
	}
	secs, hasSecs := integer("sinceSeconds", 1)
	if hasSecs {
		o.since = now.Add(-time.Duration(secs) * time.Second)
	}
	if v := q.Get("sinceTime"); v != "" {
		if q.Get("sinceSeconds") != "" {
			errs = append(errs, errors.New("at most one of sinceTime or sinceSeconds may be specified"))
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			errs = append(errs, fmt.Errorf("sinceTime: %q is not an RFC 3339 time", v))
		} else if !hasSecs {
			o.since = t
		}
	}
	return o, errors.Join(errs...)
}

// errLimitReached ends a stream whose limitBytes is spent.
var errLimitReached = errors.New("limitBytes reached")

// logWriter renders log entries: partial lines joined per stream, lines
// before `since` dropped, timestamps prefixed, output capped at limitBytes.
type logWriter struct {
	w          io.Writer
	since      time.Time
	timestamps bool
	remaining  int64 // -1: unlimited
	pending    map[string]*pendingLine
	out        []byte // reused output buffer
}

type pendingLine struct {
	ts  time.Time
	msg []byte
}

func newLogWriter(w io.Writer, o logOptions) *logWriter {
	return &logWriter{w: w, since: o.since, timestamps: o.timestamps, remaining: o.limitBytes, pending: map[string]*pendingLine{}}
}

// write takes one entry; it returns errLimitReached once the limit is spent.
func (lw *logWriter) write(e logEntry) error {
	p := lw.pending[e.stream]
	if e.partial {
		if p == nil {
			p = &pendingLine{ts: e.ts}
			lw.pending[e.stream] = p
		}
		p.msg = append(p.msg, e.msg...)
		return nil
	}
	ts, msg := e.ts, e.msg
	if p != nil {
		ts, msg = p.ts, append(p.msg, e.msg...)
		delete(lw.pending, e.stream)
	}
	return lw.emit(ts, msg, true)
}

// flush writes the streams' unfinished partial lines (the container
// ended without a newline), without a newline.
func (lw *logWriter) flush() error {
	for _, stream := range []string{"stdout", "stderr"} {
		if p := lw.pending[stream]; p != nil {
			delete(lw.pending, stream)
			if err := lw.emit(p.ts, p.msg, false); err != nil {
				return err
			}
		}
	}
	return nil
}

func (lw *logWriter) emit(ts time.Time, msg []byte, newline bool) error {
	if !lw.since.IsZero() && ts.Before(lw.since) {
		return nil
	}
	out := lw.out[:0]
	defer func() { lw.out = out[:0] }()
	if lw.timestamps {
		out = append(ts.AppendFormat(out, timestampFormat), ' ')
	}
	out = append(out, msg...)
	if newline {
		out = append(out, '\n')
	}
	limited := false
	if lw.remaining >= 0 && int64(len(out)) >= lw.remaining {
		out, limited = out[:lw.remaining], true
	}
	if len(out) > 0 {
		if _, err := lw.w.Write(out); err != nil {
			return err
		}
	}
	if lw.remaining >= 0 {
		lw.remaining -= int64(len(out))
	}
	if limited {
		return errLimitReached
	}
	return nil
}

// tailOffset returns the offset of the first of the last n complete
// messages of a CRI log (partial lines count with the line that ends
// them; unfinished ones at the end count as messages), reading r from
// the start. n < 0 means the whole log (offset 0).
func tailOffset(r io.Reader, n int64) (int64, error) {
	if n < 0 {
		return 0, nil
	}
	ring := make([]int64, 0, min(n, 4096))
	var head int // next slot to overwrite once the ring is full
	starts := map[string]int64{}
	var off int64
	push := func(start int64) {
		switch {
		case n == 0:
		case int64(len(ring)) < n:
			ring = append(ring, start)
		default:
			ring[head] = start
			head = (head + 1) % len(ring)
		}
	}
	br := newLineReader(r)
	for {
		line, err := br.next()
		if len(line) > 0 && line[len(line)-1] == '\n' {
			start := off
			off += int64(len(line))
			e, perr := parseCRILine(line)
			if perr != nil {
				continue
			}
			if s, ok := starts[e.stream]; ok {
				start = s
			}
			if e.partial {
				starts[e.stream] = start
				continue
			}
			delete(starts, e.stream)
			push(start)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	// Partial lines never finished (yet) count as lines too.
	pending := make([]int64, 0, len(starts))
	for _, s := range starts {
		pending = append(pending, s)
	}
	slices.Sort(pending)
	for _, s := range pending {
		push(s)
	}
	if n == 0 {
		return off, nil
	}
	if len(ring) == 0 {
		return 0, nil
	}
	return slices.Min(ring), nil
}
