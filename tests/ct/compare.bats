#!/usr/bin/env bats
# `berth compare` on the host: the host and container columns measured, the
# VM column said to be missing (with the reason) where /dev/kvm cannot run
# berth's VMs, nothing left behind, bad input refused before anything
# exists; and the hidden `berth workload` verb it runs everywhere.
# The VM column is tested in the rig: tests/vm/compare.bats.
load helpers

setup() { common_setup; need_busybox; }
teardown() { common_teardown; }

# Can /dev/kvm here run stock kernels (what berth's VMs need)?
kvm_runs_vms() {
	[ -c /dev/kvm ] || return 1
	! { [ -d /sys/module/kvm_pvm ] && [ ! -d /sys/module/kvm_intel ] && [ ! -d /sys/module/kvm_amd ]; }
}

# Nothing of a comparison may remain: no guest, no scratch dir, no runtime
# dir, no cgroup under this test's parent, no mount or loop device of the
# store, no process holding a file of the store or working in it.
assert_nothing_left() {
	[ -z "$(ls -A "$BERTH_ROOT/guests" 2>/dev/null)" ] || { echo "guests left: $(ls -A "$BERTH_ROOT/guests")"; return 1; }
	! ls -d "$BERTH_ROOT"/.compare-* 2>/dev/null || { echo "scratch dir left"; return 1; }
	[ -z "$(ls "$BERTH_RUN" 2>/dev/null | grep -v '^locks$')" ] || { echo "runtime dir left: $(ls "$BERTH_RUN")"; return 1; }
	local d
	for d in /sys/fs/cgroup/*/"$BERTH_CGROUP_PARENT" /sys/fs/cgroup/"$BERTH_CGROUP_PARENT"; do
		[ ! -d "$d" ] || [ -z "$(find "$d" -mindepth 1 -type d)" ] || { echo "cgroup left under $d"; return 1; }
	done
	! grep -q "$TEST_TMP" /proc/self/mountinfo || { echo "mount left"; return 1; }
	[ -z "$(losetup -a | grep "$TEST_TMP")" ] || { echo "loop device left"; return 1; }
	local held
	held=$(ls -l /proc/[0-9]*/fd /proc/[0-9]*/cwd 2>/dev/null | grep -F "$TEST_TMP/" || true)
	[ -z "$held" ] || { echo "files of the store still open: $held"; return 1; }
}

@test "workload: each kind prints 'KIND <positive number> <unit>' per run" {
	run berth workload cpu --count 1000000 -n 2
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" =~ ^cpu\ [0-9]+\.[0-9]{3}\ ms$ ]]
	awk '{ if (!($2 > 0)) exit 1 }' <<<"$output"
	run berth workload memory --size 4 --count 2
	[[ "$output" =~ ^memory\ [0-9]+\.[0-9]{3}\ MiB/s$ ]]
	run berth workload forkexec --count 5
	[[ "$output" =~ ^forkexec\ [0-9]+\.[0-9]{3}\ /s$ ]]
	run berth workload seqwrite --size 2 "$TEST_TMP/f"
	[[ "$output" =~ ^seqwrite\ [0-9]+\.[0-9]{3}\ MiB/s$ ]]
	[ "$(stat -c %s "$TEST_TMP/f")" -eq $((2 << 20)) ]
	run berth workload seqread "$TEST_TMP/f"
	[[ "$output" =~ ^seqread\ [0-9]+\.[0-9]{3}\ MiB/s$ ]]
	run berth workload fsync --count 10 "$TEST_TMP/g"
	[[ "$output" =~ ^fsync\ [0-9]+\.[0-9]{3}\ /s$ ]]
	[ ! -e "$TEST_TMP/g" ]   # removed after
	# bad input: one line, exit 2
	run berth workload nosuch
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	run berth workload cpu --count 0
	[ "$status" -eq 2 ]
	run berth workload seqread
	[ "$status" -eq 2 ]
	run berth workload seqread "$TEST_TMP/missing"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$TEST_TMP/missing"* ]]
}

@test "compare --types ct --json: host and ct columns measured, positive, host ratios 1.00" {
	run --separate-stderr berth compare --template busybox --types ct --quick --runs 2 --json
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]     # no progress when stderr is not a terminal
	echo "$output" | python3 -c '
import json, sys
o = json.load(sys.stdin)
work = ["cpu_loop_ms", "memory_bandwidth_mib_s", "fork_exec_per_s", "seq_write_mib_s",
        "seq_read_mib_s", "fsync_per_s"]
guest = ["startup_ms", "create_ms", "host_overhead_bytes", "host_overhead_after_bytes"]
assert o["template"] == "busybox" and o["runs"] == 2, o
assert o["memory_bytes"] == 512 << 20 and o["cpus_milli"] == 1000, o
assert isinstance(o["nested"], bool), o["nested"]
assert o["vm"] is None and o["ratios"]["vm"] is None and "vm" not in o["missing"], o
for k in work:
    assert o["host"][k] > 0 and o["ct"][k] > 0, k
    assert o["ratios"]["host"][k] == 1.0, (k, o["ratios"]["host"][k])
    assert abs(o["ratios"]["ct"][k] - o["ct"][k] / o["host"][k]) < 0.01 * o["ratios"]["ct"][k] + 0.002, k
    assert o["better"][k] in ("higher", "lower"), k
for k in guest:
    assert o["host"][k] is None and o["ct"][k] > 0, k
    assert o["ratios"]["ct"][k] is None, k
assert o["ct"]["create_ms"] < o["ct"]["startup_ms"], o["ct"]
# the guest holds at least its init and shell: more than 100 KiB, less than its limit
assert 100 << 10 < o["ct"]["host_overhead_bytes"] < 512 << 20, o["ct"]
assert o["better"]["cpu_loop_ms"] == "lower" and o["better"]["fsync_per_s"] == "higher"
'
	assert_nothing_left
}

@test "compare: the table; the VM column missing with the reason where /dev/kvm cannot run VMs" {
	if kvm_runs_vms; then
		skip "this host's /dev/kvm runs VMs: tests/vm/compare.bats covers the VM column"
	fi
	run --separate-stderr berth compare --template busybox --quick --runs 1
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "berth compare: template busybox, memory 512M, 1 CPU, disk 512M; median of 1 runs" ]]
	# the reason, in one plain line
	grep -E '^vm: not measured: .*(kvm|KVM)' <<<"$output"
	# header: host and ct columns with their ratio, no VM column
	header=$(grep -E '^ +better' <<<"$output")
	[[ "$header" =~ better\ +host\ +ct\ +ct/host$ ]]
	for row in "start-up (ms)" "cpu loop (ms)" "memory copy (MiB/s)" "fork+exec (/s)" \
		"seq write (MiB/s)" "seq read (MiB/s)" "4K write+fdatasync (/s)" "host memory, idle (MiB)"; do
		grep -qF "$row" <<<"$output" || { echo "row missing: $row"; return 1; }
	done
	# a workload row: lower/higher, two positive figures, a ratio
	grep -E '^cpu loop \(ms\) +lower +[0-9.]+ +[0-9.]+ +[0-9]+\.[0-9]{2}$' <<<"$output"
	grep -E '^start-up \(ms\) +lower +- +[0-9.]+ +-$' <<<"$output"
	# --types vm explicitly: refused with the reason, exit 4, nothing made
	run berth compare --template busybox --types vm --quick
	[ "$status" -eq 4 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"cannot compare a VM here"* ]]
	assert_nothing_left
}

@test "compare: bad input is one line, non-zero, and creates nothing" {
	run berth compare --template nosuch --types ct
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *nosuch* ]]
	run berth compare --template busybox --memory 12Q
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	run berth compare --template busybox --memory unlimited
	[ "$status" -eq 2 ]
	run berth compare --template busybox --disk 32M
	[ "$status" -eq 2 ]
	run berth compare --template busybox --types ct,xx
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	run berth compare --template busybox --runs 0
	[ "$status" -eq 2 ]
	run berth compare --memory 256M
	[ "$status" -eq 2 ]
	[[ "$output" == *"missing --template"* ]]
	run berth compare --template busybox extra
	[ "$status" -eq 2 ]
	assert_nothing_left
}

@test "compare: SIGINT in the middle removes the temporary guest" {
	# the binary itself, not the berth() function: a background subshell ignores SIGINT
	"$BERTH" compare --template busybox --types ct --runs 3 >"$TEST_TMP/out" 2>&1 &
	pid=$!
	# wait until the container exists, then a little longer (it may be running)
	wait_until 30 sh -c "ls -d '$BERTH_ROOT'/guests/cmp-*-ct >/dev/null 2>&1"
	sleep 0.5
	kill -INT "$pid"
	status=0
	wait "$pid" || status=$?
	cat "$TEST_TMP/out"
	[ "$status" -eq 130 ]
	grep -q interrupted "$TEST_TMP/out"
	assert_nothing_left
}
