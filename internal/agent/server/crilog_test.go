package server

import (
	"bytes"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseCRILine(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC)
	for _, tc := range []struct {
		line    string
		want    logEntry
		wantErr bool
	}{
		{line: "2024-01-02T03:04:05.123456789Z stdout F hello world\n", want: logEntry{ts: ts, stream: "stdout", msg: []byte("hello world")}},
		{line: "2024-01-02T03:04:05.123456789Z stderr P part", want: logEntry{ts: ts, stream: "stderr", partial: true, msg: []byte("part")}},
		{line: "2024-01-02T03:04:05.123456789Z stdout F \n", want: logEntry{ts: ts, stream: "stdout", msg: []byte("")}},
		{line: "2024-01-02T03:04:05.123456789Z stdout F", want: logEntry{ts: ts, stream: "stdout"}},
		{line: "2024-01-02T03:04:05.123456789Z stdout F:x  two spaces", want: logEntry{ts: ts, stream: "stdout", msg: []byte(" two spaces")}},
		{line: "2024-01-02T05:04:05.123456789+02:00 stdout F tz", want: logEntry{ts: ts, stream: "stdout", msg: []byte("tz")}},
		{line: "garbage", wantErr: true},
		{line: "notatime stdout F x", wantErr: true},
		{line: "2024-01-02T03:04:05Z stdin F x", wantErr: true},
		{line: "2024-01-02T03:04:05Z stdout X x", wantErr: true},
	} {
		got, err := parseCRILine([]byte(tc.line))
		if tc.wantErr {
			if !errors.Is(err, errBadLogLine) {
				t.Errorf("%q: err %v, want errBadLogLine", tc.line, err)
			}
			continue
		}
		if err != nil || !got.ts.Equal(tc.want.ts) || got.stream != tc.want.stream || got.partial != tc.want.partial || string(got.msg) != string(tc.want.msg) {
			t.Errorf("%q: got %+v %v, want %+v", tc.line, got, err, tc.want)
		}
	}
}

func TestParseLogOptions(t *testing.T) {
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		query   string
		want    logOptions
		wantErr []string
	}{
		{query: "", want: logOptions{tail: -1, limitBytes: -1}},
		{query: "follow=true&previous=1&timestamps=true&tailLines=3&limitBytes=10",
			want: logOptions{follow: true, previous: true, timestamps: true, tail: 3, limitBytes: 10}},
		{query: "sinceSeconds=60", want: logOptions{tail: -1, limitBytes: -1, since: now.Add(-time.Minute)}},
		{query: "sinceTime=2024-01-01T00:00:00Z", want: logOptions{tail: -1, limitBytes: -1, since: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{query: "tailLines=0", want: logOptions{tail: 0, limitBytes: -1}},
		{query: "tailLines=-1&limitBytes=0&sinceSeconds=0&follow=maybe",
			wantErr: []string{"tailLines: must be greater than or equal to 0", "limitBytes: must be greater than or equal to 1", "sinceSeconds: must be greater than or equal to 1", `follow: "maybe" is not a boolean`}},
		{query: "sinceSeconds=5&sinceTime=2024-01-01T00:00:00Z", wantErr: []string{"at most one of sinceTime or sinceSeconds"}},
		{query: "sinceTime=yesterday&tailLines=x", wantErr: []string{`sinceTime: "yesterday" is not an RFC 3339 time`, `tailLines: "x" is not an integer`}},
	} {
		q, _ := url.ParseQuery(tc.query)
		got, err := parseLogOptions(q, now)
		if len(tc.wantErr) > 0 {
			for _, w := range tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("%q: err %v, want it to contain %q", tc.query, err, w)
				}
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %+v %v, want %+v", tc.query, got, err, tc.want)
		}
	}
}

// testLog is a CRI log: one line per second from base, partial lines
// joined, stderr interleaved with an unfinished stdout line, and a last
// partial line never finished (the container exited without a newline).
const testLog = `2024-01-02T03:04:00.000000000Z stdout F one
2024-01-02T03:04:01.000000000Z stdout P tw
2024-01-02T03:04:02.000000000Z stderr F err-line
2024-01-02T03:04:03.000000000Z stdout F o
2024-01-02T03:04:04.000000000Z stdout F three
not a log line
2024-01-02T03:04:05.000000000Z stdout F four
2024-01-02T03:04:06.000000000Z stdout P unfinished
`

func TestLogRendering(t *testing.T) {
	base := time.Date(2024, 1, 2, 3, 4, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		opts logOptions
		want string
	}{
		{name: "all", opts: logOptions{tail: -1, limitBytes: -1}, want: "one\nerr-line\ntwo\nthree\nfour\nunfinished"},
		{name: "tail 2", opts: logOptions{tail: 2, limitBytes: -1}, want: "four\nunfinished"},
		// "two" started before err-line, so err-line, inside it, comes along.
		{name: "tail 4 starts at the partial line's start", opts: logOptions{tail: 4, limitBytes: -1}, want: "err-line\ntwo\nthree\nfour\nunfinished"},
		{name: "tail 0", opts: logOptions{tail: 0, limitBytes: -1}, want: ""},
		{name: "tail more than there is", opts: logOptions{tail: 100, limitBytes: -1}, want: "one\nerr-line\ntwo\nthree\nfour\nunfinished"},
		{name: "since", opts: logOptions{tail: -1, limitBytes: -1, since: base.Add(4 * time.Second)}, want: "three\nfour\nunfinished"},
		{name: "since keeps a joined line by its first part", opts: logOptions{tail: -1, limitBytes: -1, since: base.Add(time.Second)}, want: "err-line\ntwo\nthree\nfour\nunfinished"},
		{name: "timestamps", opts: logOptions{tail: 2, limitBytes: -1, timestamps: true},
			want: "2024-01-02T03:04:05.000000000Z four\n2024-01-02T03:04:06.000000000Z unfinished"},
		{name: "limitBytes", opts: logOptions{tail: -1, limitBytes: 7}, want: "one\nerr"},
		{name: "limitBytes at a line end", opts: logOptions{tail: -1, limitBytes: 4}, want: "one\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := testLog
			off, err := tailOffset(strings.NewReader(log), tc.opts.tail)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			lw := newLogWriter(&out, tc.opts)
			lr := newLineReader(strings.NewReader(log[off:]))
			for {
				line, err := lr.next()
				if err != nil {
					break
				}
				if e, perr := parseCRILine(line); perr == nil {
					if werr := lw.write(e); werr != nil {
						break
					}
				}
			}
			lw.flush()
			if out.String() != tc.want {
				t.Errorf("got %q, want %q", out.String(), tc.want)
			}
		})
	}
}
