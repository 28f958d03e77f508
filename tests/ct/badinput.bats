#!/usr/bin/env bats
# Bad input: one-line error naming the problem and the fix, non-zero exit, nothing changed.
load helpers

setup() { common_setup; need_busybox; }
teardown() { common_teardown; }

snapshot() { (cd "$BERTH_ROOT" && find . -path ./guests/*/rootfs -prune -o -print | sort; cat guests/*/config.json 2>/dev/null) | sha256sum; }

one_line_error() { # status output
	[ "$status" -ne 0 ]
	[ "$(echo "$output" | wc -l)" -eq 1 ]
	[[ "$output" == "berth "* ]]
}

@test "unknown template" {
	before=$(snapshot)
	run berth create x --template nosuch
	one_line_error
	[[ "$output" == *"nosuch"*"template list"* ]]
	[ "$(snapshot)" = "$before" ]
}

@test "bad names" {
	for n in "Bad" "-x" "a_b" "$(printf 'a%.0s' $(seq 64))" "a/b" ".."; do
		run berth create --template busybox -- "$n"
		one_line_error
		[[ "$output" == *"name"* ]]
	done
	[ -z "$(ls "$BERTH_ROOT/guests")" ]
}

@test "duplicate name" {
	berth create dup --template busybox --memory 64M
	before=$(snapshot)
	run berth create dup --template busybox --memory 128M
	one_line_error
	[[ "$output" == *"already exists"* ]]
	[ "$(snapshot)" = "$before" ]
}

@test "bad sizes and numbers" {
	for a in "--memory 12Q" "--memory -1" "--memory ''" "--swap 1.5" "--cpus 0" "--cpus abc" \
		"--pids 0" "--cpu-weight 10001" "--disk 1M"; do
		eval "run berth create bad --template busybox $a"
		one_line_error
	done
	[ -z "$(ls "$BERTH_ROOT/guests")" ]
}

@test "limits the host cannot enforce" {
	run berth create big --template busybox --cpus 4096
	one_line_error
	[[ "$output" == *"CPU"* ]]
	run berth create sw --template busybox --swap 1G
	one_line_error
	[[ "$output" == *"--memory"* ]]
	[ -z "$(ls "$BERTH_ROOT/guests")" ]
}

@test "start of a running guest, exec in a stopped one, stop of a stopped one" {
	berth create st --template busybox
	run berth exec st -- true
	one_line_error
	[ "$status" -eq 3 ]
	[[ "$output" == *"not running"*"berth start st"* ]]
	run berth stop st
	[ "$status" -eq 3 ]
	berth start st
	pid=$(json_field st "['pid']")
	run berth start st
	one_line_error
	[ "$status" -eq 3 ]
	[[ "$output" == *"already running"* ]]
	[ "$(json_field st "['pid']")" = "$pid" ]
	run berth destroy st
	[ "$status" -eq 3 ]
	[ -d "$BERTH_ROOT/guests/st" ]
}

@test "unknown verbs, options and missing arguments" {
	run berth frobnicate
	[ "$status" -eq 2 ]
	run berth create
	one_line_error
	run berth create x --template busybox --bogus
	one_line_error
	run berth exec
	one_line_error
	run berth status nosuch
	[ "$status" -eq 3 ]
}

@test "a damaged config is reported, not trusted" {
	berth create dmg --template busybox
	echo '{"name": "dmg", "type": "ct", "idmap": {"base": 0, "count": 65536}}' > "$BERTH_ROOT/guests/dmg/config.json"
	run berth start dmg
	one_line_error
	[[ "$output" == *"damaged"* ]]
}

@test "a failed start leaves nothing behind" {
	berth create fs --template busybox
	rm "$BERTH_ROOT/guests/fs/rootfs/sbin/init"
	base=$(uid_base fs)
	run berth start fs
	one_line_error
	[[ "$output" == *"/sbin/init"* ]]
	[ "$(json_field fs "['state']")" = stopped ]
	assert_no_leftovers fs "$base"
}
