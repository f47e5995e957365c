package oci

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// User is a resolved process identity.
type User struct {
	UID            uint32
	GID            uint32
	AdditionalGids []uint32
	Home           string
}

// UserInput is what decides a container's user.
type UserInput struct {
	// RunAsUser/RunAsGroup from the container's securityContext, falling
	// back to the pod's.
	RunAsUser  *int64
	RunAsGroup *int64
	// ImageUser is the image config's USER ("", "uid", "name", "uid:gid",
	// "name:group").
	ImageUser string
	// SupplementalGroups and FSGroup from the pod's securityContext.
	SupplementalGroups []int64
	FSGroup            *int64
	// Passwd and Group are the contents of the rootfs /etc/passwd and
	// /etc/group (nil when absent).
	Passwd []byte
	Group  []byte
}

type passwdEntry struct {
	name string
	uid  uint32
	gid  uint32
	home string
}

func parsePasswd(b []byte) []passwdEntry {
	var out []passwdEntry
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 6 || strings.HasPrefix(f[0], "#") {
			continue
		}
		uid, err1 := strconv.ParseUint(f[2], 10, 32)
		gid, err2 := strconv.ParseUint(f[3], 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, passwdEntry{name: f[0], uid: uint32(uid), gid: uint32(gid), home: f[5]})
	}
	return out
}

type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

func parseGroup(b []byte) []groupEntry {
	var out []groupEntry
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 3 || strings.HasPrefix(f[0], "#") {
			continue
		}
		gid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		g := groupEntry{name: f[0], gid: uint32(gid)}
		if len(f) > 3 && f[3] != "" {
			g.members = strings.Split(f[3], ",")
		}
		out = append(out, g)
	}
	return out
}

// ResolveUser decides uid, gid, additional groups and home directory:
// runAsUser/runAsGroup win over the image USER; a user name is looked up
// in /etc/passwd (an unknown name is an error, an unknown numeric uid runs
// with gid 0 unless a group is given); the user's groups from /etc/group,
// then supplementalGroups and fsGroup are added.
func ResolveUser(in UserInput) (User, error) {
	users := parsePasswd(in.Passwd)
	groups := parseGroup(in.Group)
	u := User{Home: "/"}
	userPart, groupPart, hasGroup := strings.Cut(in.ImageUser, ":")
	name := ""
	switch {
	case in.RunAsUser != nil:
		u.UID = uint32(*in.RunAsUser)
		for _, p := range users {
			if p.uid == u.UID {
				u.GID, u.Home, name = p.gid, p.home, p.name
				break
			}
		}
	case userPart == "":
		u.UID = 0
		for _, p := range users {
			if p.uid == 0 {
				u.GID, u.Home, name = p.gid, p.home, p.name
				break
			}
		}
	default:
		if n, err := strconv.ParseUint(userPart, 10, 32); err == nil {
			u.UID = uint32(n)
			for _, p := range users {
				if p.uid == u.UID {
					u.GID, u.Home, name = p.gid, p.home, p.name
					break
				}
			}
		} else {
			found := false
			for _, p := range users {
				if p.name == userPart {
					u.UID, u.GID, u.Home, name, found = p.uid, p.gid, p.home, p.name, true
					break
				}
			}
			if !found {
				return User{}, fmt.Errorf("image user %q: no such user in /etc/passwd", userPart)
			}
		}
	}
	switch {
	case in.RunAsGroup != nil:
		u.GID = uint32(*in.RunAsGroup)
	case hasGroup && groupPart != "" && in.RunAsUser == nil:
		if n, err := strconv.ParseUint(groupPart, 10, 32); err == nil {
			u.GID = uint32(n)
		} else {
			found := false
			for _, g := range groups {
				if g.name == groupPart {
					u.GID, found = g.gid, true
					break
				}
			}
			if !found {
				return User{}, fmt.Errorf("image group %q: no such group in /etc/group", groupPart)
			}
		}
	}
	seen := map[uint32]bool{u.GID: true}
	add := func(g uint32) {
		if !seen[g] {
			seen[g] = true
			u.AdditionalGids = append(u.AdditionalGids, g)
		}
	}
	if name != "" {
		for _, g := range groups {
			for _, m := range g.members {
				if m == name {
					add(g.gid)
				}
			}
		}
	}
	for _, g := range in.SupplementalGroups {
		add(uint32(g))
	}
	if in.FSGroup != nil {
		add(uint32(*in.FSGroup))
	}
	return u, nil
}
