#!/usr/bin/env bats
# both.bats - the integration tests whose behaviour is the same for both
# guest types, run once as a container (ct) and once as a VM (vm): lifecycle,
# exec exit codes and streams, data surviving stop/start, cleanup, console,
# run, and bad input. A user switches a guest's type by one word; so do
# these tests (each body takes the type).
#
# VM halves need KVM that runs stock kernels: in `make test` this file runs
# inside tests/vm/rig (there the ct halves run on a pure cgroup v2 host).
# By hand: RIG_MODE=qemu tests/vm/rig -- bats tests/vm/both.bats
bats_require_minimum_version 1.5.0
load initramfs

setup_file() { guest_store_setup both; }
teardown_file() { guest_store_teardown; }

# need TYPE: what a guest of that type needs here
need() {
	need_template
	if [ "$1" = vm ]; then need_kvm; fi
}

# monitor_gone NAME PID: the guest's monitor (and a VM's VMM) is gone with
# its runtime dir; for a container also its cgroup
monitor_gone() {
	local name=$1 pid=$2
	for _ in $(seq 100); do
		[ -e "/proc/$pid" ] || break
		sleep 0.1
	done
	[ ! -e "/proc/$pid" ]
	[ ! -e "$BERTH_RUN/$name" ]
	! find /sys/fs/cgroup -type d -name "$name" 2>/dev/null | grep -q "$BERTH_CGROUP_PARENT"
	! grep -q "/guests/$name/" /proc/self/mountinfo
}

# create_guest TYPE NAME [ARGS...]: a small guest of either type
create_guest() {
	local type=$1 name=$2
	shift 2
	berth create "$name" --type "$type" --template busybox --memory 256M --disk 128M "$@"
}

lifecycle() {
	local t=$1 g=life-$1
	need "$t"
	create_guest "$t" "$g"
	[ "$(field "$g" "['type']")" = "$t" ]
	[ "$(field "$g" "['state']")" = stopped ]
	berth start "$g"
	[ "$(field "$g" "['state']")" = running ]
	pid=$(field "$g" "['pid']")
	[ -d "/proc/$pid" ]
	run berth list
	[[ "$output" == *"$g"*"$t"*"running"* ]]
	# a second start is refused and changes nothing
	run berth start "$g"
	[ "$status" -eq 3 ]
	[ "$(field "$g" "['pid']")" = "$pid" ]
	run berth destroy "$g"
	[ "$status" -eq 3 ]
	berth stop "$g"
	[ "$(field "$g" "['state']")" = stopped ]
	monitor_gone "$g" "$pid"
	run berth stop "$g"
	[ "$status" -eq 3 ]
	berth destroy "$g"
	[ ! -e "$BERTH_ROOT/guests/$g" ]
}

exec_streams() {
	local t=$1 g=exec-$1
	need "$t"
	create_guest "$t" "$g"
	berth start "$g"
	run berth exec "$g" -- sh -c 'exit 7'
	[ "$status" -eq 7 ]
	run berth exec "$g" -- false
	[ "$status" -eq 1 ]
	run --separate-stderr berth exec "$g" -- sh -c 'echo out; echo err >&2'
	[ "$status" -eq 0 ]
	[ "$output" = out ]
	[ "$stderr" = err ]
	[ "$(printf 'a\nb\n' | berth exec "$g" -- wc -l)" -eq 2 ]
	[ "$(head -c 300000 /dev/zero | berth exec "$g" -- wc -c)" -eq 300000 ]
	run -127 berth exec "$g" -- /nonexistent
	[ "$status" -eq 127 ]
	[ "$(berth exec "$g" -- id -u)" = 0 ]
	berth kill "$g"
	[ "$(field "$g" "['state']")" = stopped ]
	run berth exec "$g" -- true
	[ "$status" -eq 3 ]
	[[ "$output" == *"not running"* ]]
	berth destroy "$g"
}

data_survives() {
	local t=$1 g=data-$1
	need "$t"
	create_guest "$t" "$g"
	berth start "$g"
	berth exec "$g" -- sh -c 'mkdir -p /root && echo kept-$$ > /root/f && sync'
	want=$(berth exec "$g" -- cat /root/f)
	berth stop "$g"
	berth start "$g"
	[ "$(berth exec "$g" -- cat /root/f)" = "$want" ]
	pid=$(field "$g" "['pid']")
	berth restart "$g"
	[ "$(field "$g" "['state']")" = running ]
	[ "$(field "$g" "['pid']")" != "$pid" ]
	[ "$(berth exec "$g" -- cat /root/f)" = "$want" ]
	pid=$(field "$g" "['pid']")
	berth stop "$g"
	monitor_gone "$g" "$pid"
	berth destroy "$g"
}

console_attach() {
	local t=$1 g=con-$1
	need "$t"
	create_guest "$t" "$g"
	berth start "$g"
	# wait until init's shell is there (the agent answering is close enough)
	berth exec "$g" -- true
	run timeout 30 bash -c "(sleep 1; printf 'echo CONSOLE-\$((6*7))\n'; sleep 2; printf '\035') | '$BERTH' console $g"
	[ "$status" -eq 0 ]
	[[ "$output" == *"CONSOLE-42"* ]]
	grep -q CONSOLE-42 "$BERTH_ROOT/guests/$g/console.log"
	[ "$(field "$g" "['state']")" = running ]
	# attach again after detaching
	run timeout 30 bash -c "(sleep 1; printf 'echo AGAIN-\$((6*7))\n'; sleep 2; printf '\035') | '$BERTH' console $g"
	[ "$status" -eq 0 ]
	[[ "$output" == *"AGAIN-42"* ]]
	berth kill "$g"
	run berth console "$g"
	[ "$status" -eq 3 ]
	[[ "$output" == *"not running"* ]]
	berth destroy "$g"
}

run_once() {
	local t=$1
	need "$t"
	run --separate-stderr berth run --type "$t" --template busybox --memory 256M --name "run-$t" -- \
		sh -c 'echo out; echo err >&2; exit 5'
	[ "$status" -eq 5 ]
	[ "$output" = out ]
	[ "$stderr" = err ]
	[ ! -e "$BERTH_ROOT/guests/run-$t" ]
	[ ! -e "$BERTH_RUN/run-$t" ]
	[ "$(echo piped | berth run --type "$t" --template busybox --memory 256M -- cat)" = piped ]
	! ls "$BERTH_ROOT/guests" | grep -q '^run-'
	! ls "$BERTH_RUN" 2>/dev/null | grep -q '^run-'
}

bad_input() {
	local t=$1 g=bad-$1
	need_template
	create_guest "$t" "$g"
	cp "$BERTH_ROOT/guests/$g/config.json" "$TEST_TMP/config.before"
	run berth create "$g" --type "$t" --template busybox
	[ "$status" -ne 0 ]
	[[ "$output" == *"exists"* ]]
	cmp "$BERTH_ROOT/guests/$g/config.json" "$TEST_TMP/config.before"
	run berth create "bad2-$t" --type "$t" --template nosuchtemplate
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[ ! -e "$BERTH_ROOT/guests/bad2-$t" ]
	run berth create "bad3-$t" --type "$t" --template busybox --memory lots
	[ "$status" -eq 2 ]
	[ ! -e "$BERTH_ROOT/guests/bad3-$t" ]
	# a template that cannot boot: no /sbin/init
	if [ ! -d "$BERTH_ROOT/templates/noinit" ]; then
		mkdir -p "$TEST_TMP/noinit/bin"
		cp /bin/busybox "$TEST_TMP/noinit/bin/"
		tar -C "$TEST_TMP/noinit" -cf "$TEST_TMP/noinit.tar" .
		berth template import noinit "$TEST_TMP/noinit.tar"
	fi
	run berth create "bad4-$t" --type "$t" --template noinit
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"no executable /sbin/init"* ]]
	[ ! -e "$BERTH_ROOT/guests/bad4-$t" ]
	for verb in stop kill console; do
		run berth "$verb" "$g"
		[ "$status" -eq 3 ]
		[[ "$output" == *"not running"* ]]
	done
	run berth exec "$g" -- true
	[ "$status" -eq 3 ]
	run berth start nosuchguest
	[ "$status" -ne 0 ]
	[[ "$output" == *"nosuchguest"* ]]
	cmp "$BERTH_ROOT/guests/$g/config.json" "$TEST_TMP/config.before"
	berth destroy "$g"
}

@test "ct: lifecycle, double start refused, stop cleans up" { lifecycle ct; }
@test "vm: lifecycle, double start refused, stop cleans up" { lifecycle vm; }
@test "ct: exec exit codes, stdin/stdout/stderr, refused when stopped" { exec_streams ct; }
@test "vm: exec exit codes, stdin/stdout/stderr, refused when stopped" { exec_streams vm; }
@test "ct: data survives stop/start and restart" { data_survives ct; }
@test "vm: data survives stop/start and restart" { data_survives vm; }
@test "ct: console attaches, Ctrl-] detaches, the guest runs on" { console_attach ct; }
@test "vm: console attaches, Ctrl-] detaches, the guest runs on" { console_attach vm; }
@test "ct: run gives the command's exit code and streams, leaves nothing" { run_once ct; }
@test "vm: run gives the command's exit code and streams, leaves nothing" { run_once vm; }
@test "ct: bad input is one line, non-zero, nothing changed" { bad_input ct; }
@test "vm: bad input is one line, non-zero, nothing changed" { bad_input vm; }
