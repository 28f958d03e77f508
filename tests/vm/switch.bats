#!/usr/bin/env bats
# switch.bats - one guest, two types: a container made with --disk boots
# as a VM from the same disk.img after `berth set NAME --type vm`, and back;
# `set` on a VM (memory, vCPUs, disk) shows in the guest at its next start.
#
# Needs KVM that runs stock kernels and 2 CPUs for the vCPU check:
#     RIG_MODE=qemu RIG_SMP=2 tests/vm/rig -- bats tests/vm/switch.bats
# The tests share one store (setup_file) and run in order.
bats_require_minimum_version 1.5.0
load initramfs

setup_file() { guest_store_setup switch; }
teardown_file() { guest_store_teardown; }

# kB of MemTotal in the guest
memtotal() {
	berth exec "$1" -- sh -c 'grep MemTotal /proc/meminfo' | awk '{print $2}'
}

@test "switch: a container with --disk boots as a VM and back, its files kept" {
	need_kvm
	need_template
	berth create sw --template busybox --disk 128M --memory 256M
	berth start sw
	berth exec sw -- sh -c 'echo from-ct > /root/f && sync'
	run berth set sw --type vm
	[ "$status" -eq 3 ]
	[[ "$output" == *"stop it first"* ]]
	berth stop --timeout 10 sw

	berth set sw --type vm
	[ "$(field sw "['type']")" = vm ]
	berth start sw
	[ "$(field sw "['state']")" = running ]
	run berth exec sw -- cat /proc/cmdline
	[[ "$output" == *"berth.root=/dev/vda"* ]]
	run berth exec sw -- cat /root/f
	[ "$status" -eq 0 ]
	[ "$output" = from-ct ]
	run berth exec sw -- sh -c 'id -u; stat -c %u:%g /root/f /bin/busybox'
	[ "$output" = "0
0:0
0:0" ]
	berth exec sw -- sh -c 'echo from-vm > /root/g && sync'
	run berth set sw --type ct
	[ "$status" -eq 3 ]
	berth stop sw
	[ "$(field sw "['state']")" = stopped ]

	berth set sw --type ct
	[ "$(field sw "['type']")" = ct ]
	berth start sw
	run berth exec sw -- sh -c 'cat /root/f /root/g; stat -c %u /root/g; id -u'
	[ "$output" = "from-ct
from-vm
0
0" ]
	# a container: the host's kernel, not the VM's cloud kernel command line
	run berth exec sw -- cat /proc/cmdline
	[[ "$output" != *"berth.root=/dev/vda"* ]]
	berth stop --timeout 10 sw
}

@test "switch: set --memory/--cpus/--disk on a VM shows in the guest at its next start" {
	need_kvm
	[ -e "$BERTH_ROOT/guests/sw" ] || skip "the first test did not create sw"
	cpus=2
	[ "$(nproc)" -ge 2 ] || cpus=1
	berth set sw --type vm --memory 256M --cpus 1
	berth start sw
	before=$(memtotal sw)
	[ "$(berth exec sw -- nproc)" = 1 ]
	run berth set sw --memory 512M --cpus "$cpus"
	[ "$status" -eq 0 ]
	[[ "$output" == *"next start"* ]]
	[ "$(field sw "['limits']['memory_bytes']")" = $((512 << 20)) ]
	[ "$(memtotal sw)" = "$before" ]
	# growing the disk of a running VM is refused, nothing changed
	run berth set sw --disk 256M
	[ "$status" -eq 3 ]
	[[ "$output" == *"stop it first"* ]]
	[ "$(stat -c %s "$BERTH_ROOT/guests/sw/disk.img")" -eq $((128 << 20)) ]
	berth stop sw

	berth set sw --disk 256M
	berth start sw
	after=$(memtotal sw)
	[ "$after" -gt $((before + 200000)) ]
	[ "$(berth exec sw -- nproc)" = "$cpus" ]
	run berth exec sw -- df -m /
	[ "$(echo "$output" | awk 'NR==2 {print $2}')" -gt 200 ]
	run berth exec sw -- cat /root/f
	[ "$output" = from-ct ]
	berth stop sw
	berth destroy sw
	[ ! -e "$BERTH_ROOT/guests/sw" ]
}
