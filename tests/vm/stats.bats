#!/usr/bin/env bats
# stats.bats - `berth stats` and `berth top` for `--type vm` guests: the VMM's
# "stats" control request (exits, disk bytes) and the VMM process as the host
# sees it (CPU time, RSS, threads).
#
# Boot tests need KVM that runs stock kernels: run them as
#     RIG_MODE=qemu tests/vm/rig -- bats tests/vm/stats.bats
# The stopped-guest test runs anywhere. The boot tests share one guest.
bats_require_minimum_version 1.5.0
load initramfs

setup_file() { guest_store_setup vmstats; }
teardown_file() { guest_store_teardown; }

# vstats NAME: the JSON object of `berth stats --json NAME`
vstats() {
	berth stats --json "$1" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)[0]))'
}

@test "vm stats: a stopped VM gives zeros, its vCPUs and memory from the config" {
	need_template
	berth create off --type vm --template busybox --memory 128M --disk 64M
	run berth stats --json off
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c '
import json, sys
g = json.load(sys.stdin)[0]
assert g["type"] == "vm" and g["state"] == "stopped", g
assert g["vcpus"] == 1 and g["guest_memory_bytes"] == 128 << 20, g
for k in ("cpu_seconds", "memory_bytes", "pids", "exits", "block_read_bytes", "uptime_seconds"):
    assert g[k] == 0, (k, g[k])
'
	berth destroy off
}

@test "vm stats: vcpus, guest memory, exits, CPU time and disk reads of a running VM" {
	need_kvm
	need_template
	berth create vm1 --type vm --template busybox --memory 256M --disk 128M
	berth start vm1
	berth exec vm1 -- true
	before=$(vstats vm1)
	echo "before: $before"
	# read 8 MiB of the disk the guest has not read yet (page cache aside)
	berth exec vm1 -- dd if=/dev/vda of=/dev/null bs=1M count=8 skip=64
	run berth stats --json vm1
	[ "$status" -eq 0 ]
	echo "after: $output"
	echo "$output" | BEFORE="$before" python3 -c '
import json, os, sys
g = json.load(sys.stdin)[0]
b = json.loads(os.environ["BEFORE"])
assert g["name"] == "vm1" and g["type"] == "vm" and g["state"] == "running", g
assert g["vcpus"] == 1, g["vcpus"]
assert g["guest_memory_bytes"] == 256 << 20 and g["memory_limit_bytes"] == 256 << 20, g
assert g["exits"] > 0 and g["exits"] >= b["exits"], (b["exits"], g["exits"])
assert g["cpu_seconds"] > 0 and g["cpu_seconds"] >= b["cpu_seconds"], g["cpu_seconds"]
assert b["block_read_bytes"] > 0, "booting read the root disk"
assert g["block_read_bytes"] >= b["block_read_bytes"] + (7 << 20), (b["block_read_bytes"], g["block_read_bytes"])
assert 0 < g["memory_bytes"] < (256 << 20) + (64 << 20), g["memory_bytes"]   # the VMM RSS
assert g["pids"] >= 2, g["pids"]                # VMM threads: main, vCPU, devices, control...
assert 0 <= g["cpu_percent"] <= 200, g["cpu_percent"]
assert g["oom_kills"] == 0 and g["uptime_seconds"] >= 0
'
	# the same figures straight from the control socket
	reply=$(python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"stats\n")
print(s.makefile().readline().strip())' "$BERTH_RUN/vm1/control.sock")
	echo "reply: $reply"
	[[ "$reply" == "{\"pid\":"*"\"exits\":"*"\"block_read_bytes\":"* ]]
}

@test "vm stats: top shows the running VM" {
	need_kvm
	[ -e "$BERTH_ROOT/guests/vm1" ] || skip "the boot test did not create vm1"
	run berth top
	[ "$status" -eq 0 ]
	echo "$output"
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[1]}" == vm1\ *vm*/256M* ]]
	berth stop vm1
	[ "$(vstats vm1 | python3 -c 'import json,sys; g=json.load(sys.stdin); print(g["state"], g["exits"], g["cpu_seconds"])')" = "stopped 0 0.0" ]
	berth destroy vm1
}
