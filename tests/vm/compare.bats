#!/usr/bin/env bats
# compare.bats - `berth compare` with all three columns (host, container,
# VM) where KVM runs stock kernels; in the rig the VM runs nested (KVM
# inside QEMU TCG) and the output must say so. Small workloads (--quick,
# one run) keep it to about a minute nested.
#
#     RIG_MODE=qemu tests/vm/rig -- bats tests/vm/compare.bats
bats_require_minimum_version 1.5.0
load initramfs

setup_file() { guest_store_setup vmcompare; }
teardown_file() { guest_store_teardown; }

@test "compare: host, ct and vm measured, JSON keys positive, the VM column said to run nested" {
	need_kvm
	need_template
	run --separate-stderr berth compare --template busybox --memory 256M --disk 128M --quick \
		--runs 1 --json
	echo "$output"
	echo "$stderr"
	[ "$status" -eq 0 ]
	echo "$output" | RIG_HOST="$(hostname)" python3 -c '
import json, os, sys
o = json.load(sys.stdin)
work = ["cpu_loop_ms", "memory_bandwidth_mib_s", "fork_exec_per_s", "seq_write_mib_s",
        "seq_read_mib_s", "fsync_per_s"]
guest = ["startup_ms", "create_ms", "host_overhead_bytes", "host_overhead_after_bytes"]
assert o["missing"] == {}, o["missing"]
for col in ("host", "ct", "vm"):
    assert o[col] is not None, col
    for k in work:
        assert o[col][k] > 0, (col, k)
        assert o["ratios"][col][k] > 0, (col, k)
    for k in guest:
        assert (o[col][k] is None) == (col == "host"), (col, k)
        if col != "host":
            assert o[col][k] > 0, (col, k)
for k in work:
    assert o["ratios"]["host"][k] == 1.0, k
# the VMM holds at least what the guest kernel touched; a container far less
assert o["vm"]["host_overhead_bytes"] > 16 << 20, o["vm"]
assert o["vm"]["host_overhead_bytes"] < (256 + 128) << 20, o["vm"]
# in the rig (hostname rig, a QEMU guest) the VM runs nested and says so
if os.environ["RIG_HOST"] == "rig":
    assert o["nested"] is True, o
    assert o["hypervisor"], o
'
	# nothing left: no guest, no VMM, no tap, no cgroup
	[ -z "$(ls -A "$BERTH_ROOT/guests")" ]
	! ls -d "$BERTH_ROOT"/.compare-* 2>/dev/null
	[ -z "$(ls "$BERTH_RUN" | grep -v '^locks$')" ]
	! ip -o link show | grep -q ': bt'
	[ -z "$(ls -l /proc/[0-9]*/fd 2>/dev/null | grep -F "$BERTH_ROOT/guests/")" ]
}

@test "compare --types vm: the table says the VM column runs nested" {
	need_kvm
	need_template
	[ "$(hostname)" = rig ] || skip "the nested note is checked in the rig"
	run --separate-stderr berth compare --template busybox --memory 256M --disk 128M --quick \
		--runs 1 --types vm
	echo "$output"
	[ "$status" -eq 0 ]
	grep -E '^vm: runs nested: this host is itself a virtual machine \(.+\); the VM column.s KVM runs inside it$' <<<"$output"
	grep -E '^ +better +host +vm +vm/host$' <<<"$output"
	grep -E '^cpu loop \(ms\) +lower +[0-9.]+ +[0-9.]+ +[0-9]+\.[0-9]{2}$' <<<"$output"
	grep -E '^start-up \(ms\) +lower +- +[0-9.]+ +-$' <<<"$output"
	[ -z "$(ls -A "$BERTH_ROOT/guests")" ]
}
