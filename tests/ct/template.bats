#!/usr/bin/env bats
# Templates: build (busybox, debian), import (good and hostile tarballs),
# list, rm. Run as root. BERTH_SKIP_DEBIAN=1 skips the debootstrap test.

BERTH="$BATS_TEST_DIRNAME/../../build/berth"

setup() {
	BERTH_ROOT=$(mktemp -d /tmp/berth-tpl-root.XXXXXX)
	BERTH_RUN=$(mktemp -d /tmp/berth-tpl-run.XXXXXX)
	WORK=$(mktemp -d /tmp/berth-tpl-work.XXXXXX)
	export BERTH_ROOT BERTH_RUN
}

teardown() {
	rm -rf "$BERTH_ROOT" "$BERTH_RUN" "$WORK"
}

berth() { "$BERTH" "$@"; }

# No temp or half-removed dirs under templates/.
no_tmp_dirs() {
	! ls -A "$BERTH_ROOT/templates" | grep -E '\.tmp-|\.rm-'
}

# The templates present, one per line, sorted.
templates() { ls "$BERTH_ROOT/templates" | sort; }

# field NAME KEY: a key of template.json
field() {
	python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" \
		"$BERTH_ROOT/templates/$1/template.json" "$2"
}

# hostile KIND FILE: write a tarball that breaks one rule (python tarfile)
hostile() {
	python3 - "$1" "$2" "$WORK" <<'EOF'
import io, sys, tarfile
kind, out, work = sys.argv[1:4]
t = tarfile.open(out, "w")
def add(name, type=tarfile.REGTYPE, link="", data=b"", uid=0, dev=(0, 0), mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.uid, ti.mode = type, link, uid, mode
    ti.devmajor, ti.devminor = dev
    ti.size = len(data)
    t.addfile(ti, io.BytesIO(data) if data else None)
add("./", tarfile.DIRTYPE, mode=0o755)
add("./etc", tarfile.DIRTYPE, mode=0o755)
if kind == "absolute":
    add(work + "/pwned-absolute", data=b"x")
elif kind == "dotdot":
    add("etc/../../pwned-dotdot", data=b"x")
elif kind == "device":
    add("etc/sda", tarfile.BLKTYPE, dev=(8, 0))
elif kind == "uid":
    add("etc/file", data=b"x", uid=100000)
elif kind == "hardlink":
    add("etc/h", tarfile.LNKTYPE, link="../../etc/shadow")
elif kind == "through-symlink":
    add("escape", tarfile.SYMTYPE, link=work)
    add("escape/pwned-symlink", data=b"x")
elif kind == "truncated":
    add("etc/ok", data=b"fine" * 1024)
    add("etc/big", data=b"y" * 100000)
t.close()
if kind == "truncated":  # a valid start, cut short: nothing may be kept
    with open(out, "r+b") as f:
        f.truncate(60000)
EOF
}

@test "build busybox: tree, init, list, quiet when not a terminal" {
	run berth template build busybox
	[ "$status" -eq 0 ]
	"$BERTH" template build busybox bb2 2>"$WORK/err" >/dev/null
	[ ! -s "$WORK/err" ]
	root=$BERTH_ROOT/templates/busybox/rootfs
	[ -x "$root/bin/busybox" ] && [ -f "$root/bin/busybox" ]
	[ -L "$root/sbin/init" ]
	[ "$(basename "$(readlink "$root/sbin/init")")" = busybox ]
	[ -L "$root/bin/ls" ] && [ -L "$root/bin/sh" ]
	[ "$(stat -c %a "$root/tmp")" = 1777 ]
	[ "$(stat -c %a "$root/root")" = 700 ]
	[ "$(stat -c %a "$root/etc/init.d/rcS")" = 755 ]
	grep -q '^root::0:0:' "$root/etc/passwd"
	grep -q 'sysinit:/etc/init.d/rcS' "$root/etc/inittab"
	[ "$(cat "$root/etc/hostname")" = busybox ]
	[ "$(field busybox init)" = busybox ]
	[ "$(field busybox source)" = busybox ]
	[ "$(find "$root" ! -user root | wc -l)" = 0 ]
	run berth template list
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == NAME*SOURCE*INIT*SIZE*CREATED ]]
	[[ "$output" == *"busybox"*"busybox"*"busybox"* ]]
	[[ "$output" == *"bb2"* ]]
	no_tmp_dirs
}

@test "build busybox is fast" {
	start=$(date +%s%N)
	berth template build busybox >/dev/null
	end=$(date +%s%N)
	echo "took $(((end - start) / 1000000)) ms"
	[ $(((end - start) / 1000000)) -lt 1000 ] # 20 ms here; generous for loaded CI
}

@test "duplicate build fails and keeps the existing template" {
	berth template build busybox >/dev/null
	before=$(stat -c %Y.%i "$BERTH_ROOT/templates/busybox/template.json")
	run berth template build busybox
	[ "$status" -eq 2 ]
	[[ "$output" == *"already exists"*"berth template rm busybox"* ]]
	[ "$(stat -c %Y.%i "$BERTH_ROOT/templates/busybox/template.json")" = "$before" ]
	[ -x "$BERTH_ROOT/templates/busybox/rootfs/bin/busybox" ]
	run berth template import busybox /dev/null
	[ "$status" -ne 0 ]
	no_tmp_dirs
}

@test "bad names and bad command lines fail with usage errors and change nothing" {
	for n in Bad_Name ../x -x "" "$(printf 'a%.0s' {1..64})"; do
		run berth template build busybox "$n"
		[ "$status" -eq 2 ]
	done
	run berth template build busybox Caps
	[[ "$output" == *"bad template name 'Caps'"* ]]
	[ "$(ls -A "$BERTH_ROOT/templates")" = "" ]
	run berth template frobnicate
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown subcommand"* ]]
	run berth template
	[ "$status" -eq 2 ]
	run berth template build
	[ "$status" -eq 2 ]
	run berth template build centos
	[ "$status" -eq 2 ]
	run berth template build busybox --suite bookworm
	[ "$status" -eq 2 ]
	run berth template list --bogus
	[ "$status" -eq 2 ]
	run berth template rm --json x
	[ "$status" -eq 2 ]
	run berth template build debian --suite 'bad suite'
	[ "$status" -eq 2 ]
	run berth template build debian --mirror 'ftp://x'
	[ "$status" -eq 2 ]
	[ "$(ls -A "$BERTH_ROOT/templates")" = "" ]
}

@test "import a tarball made from a template: .tar .tar.gz .tar.xz .tar.zst" {
	berth template build busybox >/dev/null
	tar -C "$BERTH_ROOT/templates/busybox/rootfs" -cf "$WORK/bb.tar" .
	gzip -k "$WORK/bb.tar"
	xz -k "$WORK/bb.tar"
	zstd -q "$WORK/bb.tar"
	(cd "$BERTH_ROOT/templates/busybox/rootfs" && find . -printf '%p %m %U %G %l\n' | sort) >"$WORK/want"
	for ext in tar tar.gz tar.xz tar.zst; do
		name=imp-${ext//./-}
		run berth template import "$name" "$WORK/bb.$ext"
		echo "$output"
		[ "$status" -eq 0 ]
		[ "$(field "$name" source)" = import ]
		[ "$(field "$name" init)" = busybox ]
		(cd "$BERTH_ROOT/templates/$name/rootfs" && find . -printf '%p %m %U %G %l\n' | sort) >"$WORK/got"
		diff "$WORK/want" "$WORK/got"
	done
	run berth template list
	[[ "$output" == *"imp-tar-zst"*"import"*"busybox"* ]]
	no_tmp_dirs
}

@test "import keeps a wrapping top directory and other owners" {
	mkdir -p "$WORK/tree/rootfs/sbin" "$WORK/tree/rootfs/home/u"
	touch "$WORK/tree/rootfs/sbin/init"
	chown 1000:1000 "$WORK/tree/rootfs/home/u"
	tar -C "$WORK/tree" -czf "$WORK/wrapped.tar.gz" rootfs
	berth template import wrapped "$WORK/wrapped.tar.gz"
	[ -d "$BERTH_ROOT/templates/wrapped/rootfs/rootfs/sbin" ]
	[ "$(stat -c %u "$BERTH_ROOT/templates/wrapped/rootfs/rootfs/home/u")" = 1000 ]
	[ "$(field wrapped init)" = other ]
}

@test "hostile tarballs are rejected and leave nothing behind" {
	for kind in absolute dotdot device uid hardlink through-symlink truncated; do
		hostile "$kind" "$WORK/$kind.tar"
		run berth template import "evil-$kind" "$WORK/$kind.tar"
		echo "$kind: $status $output"
		[ "$status" -ne 0 ]
		[[ "$output" == *"tarball rejected"* ]]
		[ ! -e "$BERTH_ROOT/templates/evil-$kind" ]
		no_tmp_dirs
	done
	run berth template import x "$WORK/dotdot.tar"
	[[ "$output" == *"entry 'etc/../../pwned-dotdot' leaves the tree ('..'); repack it relative to the root"* ]]
	run berth template import x "$WORK/device.tar"
	[[ "$output" == *"device node outside dev/"* ]]
	[ ! -e "$WORK/pwned-absolute" ] && [ ! -e "$WORK/pwned-symlink" ]
	[ ! -e "$BERTH_ROOT/pwned-dotdot" ] && [ ! -e /tmp/pwned-dotdot ]
	[ "$(ls -A "$BERTH_ROOT/templates")" = "" ]
}

@test "import of a missing file or a non-tarball fails cleanly" {
	run berth template import t "$WORK/nope.tar"
	[ "$status" -eq 2 ]
	[[ "$output" == *"no tarball at"* ]]
	echo "just text" >"$WORK/text.tar"
	run berth template import t "$WORK/text.tar"
	[ "$status" -eq 2 ]
	[[ "$output" == *"tarball rejected"* ]]
	run berth template import t "$WORK"
	[ "$status" -eq 2 ]
	run berth template import t
	[ "$status" -eq 2 ]
	[ "$(ls -A "$BERTH_ROOT/templates")" = "" ]
}

@test "rm removes a template; refuses unknown ones and ones in use" {
	berth template build busybox >/dev/null
	berth template build busybox other >/dev/null
	run berth template rm nope
	[ "$status" -eq 2 ]
	[[ "$output" == *"no template named 'nope'"* ]]
	# a guest made from the template keeps it
	mkdir -p "$BERTH_ROOT/guests/web" "$BERTH_ROOT/guests/db"
	echo '{"name":"web","template":"busybox"}' >"$BERTH_ROOT/guests/web/config.json"
	echo '{"name":"db","template":"busybox"}' >"$BERTH_ROOT/guests/db/config.json"
	run berth template rm busybox
	[ "$status" -ne 0 ]
	[[ "$output" == *"'db', 'web'"*"destroy them first"* ]]
	[ -d "$BERTH_ROOT/templates/busybox/rootfs" ]
	rm -rf "$BERTH_ROOT/guests/web" "$BERTH_ROOT/guests/db"
	run berth template rm busybox
	[ "$status" -eq 0 ]
	[ ! -e "$BERTH_ROOT/templates/busybox" ]
	run berth template list
	! grep -q '^busybox ' <<<"$output"
	grep -q '^other ' <<<"$output"
	run berth template rm busybox
	[ "$status" -eq 2 ]
	no_tmp_dirs
}

@test "list --json" {
	run berth template list --json
	[ "$status" -eq 0 ]
	[ "$output" = "[]" ]
	berth template build busybox >/dev/null
	run berth template list --json
	python3 -c '
import json, sys
a = json.loads(sys.argv[1])
assert len(a) == 1, a
t = a[0]
assert t["name"] == "busybox" and t["source"] == "busybox" and t["init"] == "busybox", t
assert isinstance(t["created"], int) and t["created"] > 0, t
' "$output"
}

@test "debian: debootstrap build boots systemd (BERTH_SKIP_DEBIAN=1 skips)" {
	[ -z "${BERTH_SKIP_DEBIAN:-}" ] || skip "BERTH_SKIP_DEBIAN is set"
	command -v debootstrap >/dev/null || skip "debootstrap is not installed"
	"$BERTH" template build debian deb --suite bookworm 2>"$WORK/err" >"$WORK/out" || {
		cat "$WORK/out" "$WORK/err"
		false
	}
	[ ! -s "$WORK/err" ]
	root=$BERTH_ROOT/templates/deb/rootfs
	[ "$(field deb init)" = systemd ]
	[ "$(field deb source)" = debian ]
	[ -e "$root/lib/systemd/systemd" ]
	[ -x "$root/usr/bin/ip" ] || [ -x "$root/bin/ip" ] || [ -x "$root/sbin/ip" ]
	[ ! -s "$root/etc/machine-id" ]
	[ "$(cat "$root/etc/hostname")" = debian ]
	grep -q '^root::' "$root/etc/shadow"
	[ -z "$(ls "$root/var/cache/apt/archives/" | grep '\.deb$')" ]
	[ -s "$BERTH_ROOT/templates/deb/build.log" ]
	! grep -q "$BERTH_ROOT/templates/.deb" /proc/self/mountinfo
	no_tmp_dirs
	run berth template list --json
	[ "$status" -eq 0 ]
	python3 -c '
import json, sys
t = [x for x in json.loads(sys.argv[1]) if x["name"] == "deb"][0]
assert t["init"] == "systemd" and t["source"] == "debian", t
' "$output"
}

@test "debian: a failed debootstrap leaves nothing but its log" {
	[ -z "${BERTH_SKIP_DEBIAN:-}" ] || skip "BERTH_SKIP_DEBIAN is set"
	command -v debootstrap >/dev/null || skip "debootstrap is not installed"
	run berth template build debian --mirror file:///nonexistent/debian bad
	[ "$status" -ne 0 ]
	[[ "$output" == *"debootstrap bookworm failed"*"full log in"* ]]
	[ ! -e "$BERTH_ROOT/templates/bad" ]
	[ -s "$BERTH_ROOT/templates/.bad.log" ]
	no_tmp_dirs
}
