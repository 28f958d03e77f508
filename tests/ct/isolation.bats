#!/usr/bin/env bats
# What a container must not see or do, and its unique security label.
load helpers

setup() {
	common_setup
	need_busybox
	berth create iso --template busybox
	cp "$PROBE" "$BERTH_ROOT/guests/iso/rootfs/probe"
	chown "$(uid_base iso):$(uid_base iso)" "$BERTH_ROOT/guests/iso/rootfs/probe"
	berth start iso
}
teardown() { common_teardown; }

@test "own namespaces: pid, mount, net, uts, ipc, user, cgroup" {
	pid=$(json_field iso "['pid']")
	for ns in pid mnt net uts ipc user cgroup; do
		[ "$(readlink /proc/$pid/ns/$ns)" != "$(readlink /proc/self/ns/$ns)" ]
	done
	# only lo in its network namespace, and it is up
	run berth exec iso -- ip -o link
	[[ "$output" == *"lo:"*"UP"* ]]
	[ "$(echo "$output" | wc -l)" -eq 1 ]
}

@test "cannot see host processes" {
	sleep 1000 &
	hostpid=$!
	run berth exec iso -- ps -o pid,comm
	kill $hostpid
	[[ "$output" != *"sleep"* ]]
	n=$(berth exec iso -- ls /proc | grep -c '^[0-9]')
	[ "$n" -lt 10 ]
}

@test "root inside is an unprivileged, unique uid outside" {
	berth create other --template busybox
	a=$(uid_base iso); b=$(uid_base other)
	[ "$a" -ge 65536 ]
	[ "$b" -ge 65536 ]
	[ "$a" != "$b" ]
	[ $((a > b ? a - b : b - a)) -ge 65536 ]
	run berth exec iso -- cat /proc/self/uid_map
	[[ "$output" == *"0"*"$a"*"65536"* ]]
	# its files are owned by its range
	[ "$(stat -c %u "$BERTH_ROOT/guests/iso/rootfs/etc/passwd")" = "$a" ]
	[ "$(stat -c %u "$BERTH_ROOT/guests/other/rootfs/etc/passwd")" = "$b" ]
}

@test "two containers cannot read each other's files" {
	berth create other --template busybox
	berth start other
	berth exec other -- sh -c 'echo secret > /root/secret; chmod 600 /root/secret'
	# not reachable from inside: the other tree is not in its mount namespace
	run berth exec iso -- cat "$BERTH_ROOT/guests/other/rootfs/root/secret"
	[ "$status" -ne 0 ]
	# and not by its uid on the host either
	run setpriv --reuid "$(uid_base iso)" --regid "$(uid_base iso)" --clear-groups \
		cat "$BERTH_ROOT/guests/other/rootfs/root/secret"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]
}

@test "cannot load modules, kexec, use keyrings or bpf (seccomp and capabilities)" {
	run berth exec iso -- /probe syscalls
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" != *ALLOWED* ]]
	run berth exec iso -- grep CapBnd /proc/self/status
	# CAP_SYS_MODULE (16) and CAP_SYS_RAWIO (17) are out of the bounding set
	bnd=$(echo "$output" | awk '{print $2}')
	[ $(( 0x$bnd & (1 << 16) )) -eq 0 ]
	[ $(( 0x$bnd & (1 << 17) )) -eq 0 ]
	run berth exec iso -- grep NoNewPrivs /proc/self/status
	[[ "$output" == *"1"* ]]
}

@test "cannot mount host file systems, write /sys, kernel sysctls or sysrq" {
	panic_before=$(cat /proc/sys/kernel/panic)
	run berth exec iso -- mount -t ext4 /dev/vda /mnt
	[ "$status" -ne 0 ]
	run berth exec iso -- mount -t sysfs sysfs /mnt
	[ "$status" -ne 0 ]
	run berth exec iso -- mount -o remount,rw /sys
	[ "$status" -ne 0 ]
	run berth exec iso -- touch /sys/x
	[ "$status" -ne 0 ]
	run berth exec iso -- sh -c 'echo 1 > /sys/kernel/profiling'
	[ "$status" -ne 0 ]
	# /proc/sys is bound read-only; even if the guest's root remounts that bind
	# (it owns the mount namespace), the kernel refuses it the host's sysctls:
	# the user namespace is the boundary, the read-only bind is defence in depth.
	run berth exec iso -- sh -c 'echo 77 > /proc/sys/kernel/panic'
	[ "$status" -ne 0 ]
	run berth exec iso -- sh -c 'mount -o remount,rw /proc/sys; echo 77 > /proc/sys/kernel/panic'
	[ "$status" -ne 0 ]
	run berth exec iso -- sh -c 'mount -o remount,rw /proc/sys; echo 1 > /proc/sys/vm/drop_caches'
	[ "$status" -ne 0 ]
	run berth exec iso -- sh -c 'echo c > /proc/sysrq-trigger'
	[ "$status" -ne 0 ]
	[ "$(cat /proc/sys/kernel/panic)" = "$panic_before" ]
}

@test "masked /proc and /sys paths show nothing" {
	for p in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/latency_stats; do
		[ -e "$p" ] || continue
		run berth exec iso -- cat "$p"
		[ "$status" -eq 0 ]
		[ -z "$output" ]
	done
	for d in /proc/acpi /proc/scsi /sys/firmware; do
		[ -e "$d" ] || continue
		run berth exec iso -- ls "$d"
		[ -z "$output" ]
	done
	# writable ones are read-only
	run berth exec iso -- sh -c 'echo x > /proc/sys/net/ipv4/ip_forward'
	[ "$status" -ne 0 ]
}

@test "a minimal /dev" {
	run berth exec iso -- ls /dev
	for n in null zero full random urandom tty console ptmx pts shm; do
		[[ "$output" == *"$n"* ]]
	done
	[[ "$output" != *"vda"* ]]
	[[ "$output" != *"mem"* ]]
	run berth exec iso -- sh -c 'head -c 4 /dev/urandom | wc -c'
	[ "$output" = 4 ]
}

@test "no host fd or cwd leaks into the container (CVE-2024-21626 class)" {
	run berth exec iso -- /probe fds
	echo "$output"
	[ "$status" -eq 0 ]
	pid=$(json_field iso "['pid']")
	n=$(ls /proc/$pid/fd | wc -l)
	[ "$n" -le 3 ]
	[ "$(readlink /proc/$pid/cwd)" = / ] || [[ "$(readlink /proc/$pid/cwd)" == *rootfs ]]
}

@test "the host's berth binary cannot be opened for writing from inside (CVE-2019-5736 class)" {
	sum=$(sha256sum "$BERTH" | cut -d' ' -f1)
	berth exec iso -- /probe exe-race 3 > "$TEST_TMP/race.out" &
	probe=$!
	for i in $(seq 30); do berth exec iso -- true; done
	wait $probe
	cat "$TEST_TMP/race.out"
	grep -q " 0 opened for writing" "$TEST_TMP/race.out"
	[ "$(sha256sum "$BERTH" | cut -d' ' -f1)" = "$sum" ]
}
