package oci

import (
	"reflect"
	"testing"
)

const testPasswd = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
www:x:33:33:www:/var/www:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
`
const testGroup = `root:x:0:
daemon:x:1:
www:x:33:
web:x:500:www,daemon
audio:x:29:www
nogroup:x:65534:
`

func i64(v int64) *int64 { return &v }

func TestResolveUser(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   UserInput
		want User
		err  bool
	}{
		{"default root", UserInput{}, User{UID: 0, GID: 0, Home: "/root"}, false},
		{"image name", UserInput{ImageUser: "www"}, User{UID: 33, GID: 33, AdditionalGids: []uint32{500, 29}, Home: "/var/www"}, false},
		{"image uid known", UserInput{ImageUser: "1"}, User{UID: 1, GID: 1, AdditionalGids: []uint32{500}, Home: "/usr/sbin"}, false},
		{"image uid unknown", UserInput{ImageUser: "1234"}, User{UID: 1234, GID: 0, Home: "/"}, false},
		{"image uid:gid", UserInput{ImageUser: "1234:5678"}, User{UID: 1234, GID: 5678, Home: "/"}, false},
		{"image name:group", UserInput{ImageUser: "www:nogroup"}, User{UID: 33, GID: 65534, AdditionalGids: []uint32{500, 29}, Home: "/var/www"}, false},
		{"image unknown name", UserInput{ImageUser: "ghost"}, User{}, true},
		{"image unknown group", UserInput{ImageUser: "www:ghosts"}, User{}, true},
		{"runAsUser wins", UserInput{ImageUser: "www", RunAsUser: i64(65534)}, User{UID: 65534, GID: 65534, Home: "/nonexistent"}, false},
		{"runAsUser and group", UserInput{ImageUser: "www:web", RunAsUser: i64(1000), RunAsGroup: i64(3000)}, User{UID: 1000, GID: 3000, Home: "/"}, false},
		{"runAsGroup with image user", UserInput{ImageUser: "www", RunAsGroup: i64(7)}, User{UID: 33, GID: 7, AdditionalGids: []uint32{500, 29}, Home: "/var/www"}, false},
		{"supplemental and fsGroup", UserInput{RunAsUser: i64(1000), SupplementalGroups: []int64{4000, 4000}, FSGroup: i64(2000)}, User{UID: 1000, GID: 0, AdditionalGids: []uint32{4000, 2000}, Home: "/"}, false},
		{"no passwd file", UserInput{ImageUser: "0", Passwd: []byte{}}, User{UID: 0, Home: "/"}, false},
	} {
		in := tc.in
		if in.Passwd == nil {
			in.Passwd = []byte(testPasswd)
		}
		in.Group = []byte(testGroup)
		got, err := ResolveUser(in)
		if (err != nil) != tc.err {
			t.Errorf("%s: err = %v", tc.name, err)
			continue
		}
		if !tc.err && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
