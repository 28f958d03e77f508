#!/usr/bin/env bats
# guest.bats - `--type vm` guests on the main verbs: create (root disk built
# from a template), start (monitor running berth's VMM), exec (through the
# guest agent over vsock), stop, kill, status/list, destroy; and bad input.
#
# Boot tests need KVM that runs stock kernels: run them as
#     RIG_MODE=qemu tests/vm/rig -- bats tests/vm/guest.bats
# (on hosts without kvm-pvm, tests/vm/rig alone). Elsewhere they skip; the
# bad-input tests run anywhere (they fail before /dev/kvm is opened).
# The boot tests share one store (setup_file) and run in order: the later
# ones use the guest the first one made. Needs: linux-image-cloud-amd64,
# busybox-static, e2fsprogs. Each nested boot takes ~10-20 s in the rig.
bats_require_minimum_version 1.5.0
load initramfs

setup_file() { guest_store_setup vmguest; }
teardown_file() { guest_store_teardown; }

# gone PID: no such process (or only a zombie left for its reaper)
gone() {
	[ ! -e "/proc/$1" ] || grep -q '^[0-9]* (.*) Z' "/proc/$1/stat"
}

# no_runtime NAME: the monitor has gone and taken its runtime dir with it
no_runtime() {
	[ ! -e "$BERTH_RUN/$1" ]
}

# --- bad input: runs anywhere -------------------------------------------

@test "create --type vm: --cpus 1.5 is refused, nothing created" {
	need_template
	run berth create bad --type vm --template busybox --cpus 1.5
	[ "$status" -eq 2 ]
	[[ "$output" == *"whole number of vCPUs"* ]]
	[ ! -e "$BERTH_ROOT/guests/bad" ]
}

@test "create --type vm: more vCPUs or memory than the host is refused" {
	need_template
	run berth create bad --type vm --template busybox --cpus 4096
	[ "$status" -eq 2 ]
	[[ "$output" == *"exceeds the host"* ]]
	run berth create bad --type vm --template busybox --memory 64T
	[ "$status" -eq 2 ]
	[[ "$output" == *"exceeds the host"* ]]
	[ ! -e "$BERTH_ROOT/guests/bad" ]
}

@test "create --type vm: container-only limits and VM-only options are refused" {
	need_template
	run berth create bad --type vm --template busybox --pids 100
	[ "$status" -eq 2 ]
	[[ "$output" == *"for containers"* ]]
	run berth create bad --template busybox --kernel /boot/vmlinuz
	[ "$status" -eq 2 ]
	[[ "$output" == *"--type vm"* ]]
	run berth create bad --type qemu --template busybox
	[ "$status" -eq 2 ]
	[ ! -e "$BERTH_ROOT/guests/bad" ]
}

@test "create --type vm: a missing or non-kernel --kernel is one line, exit 2" {
	need_template
	run berth create bad --type vm --template busybox --kernel /nonexistent/vmlinuz
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"/nonexistent/vmlinuz"* ]]
	run berth create bad --type vm --template busybox --kernel /etc/hostname
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"not a kernel"* ]]
	[ ! -e "$BERTH_ROOT/guests/bad" ]
}

@test "create --type vm makes a 0600 ext4 disk; exec into the stopped VM is refused" {
	need_template
	berth create idle --type vm --template busybox --disk 256M
	img=$BERTH_ROOT/guests/idle/disk.img
	[ "$(stat -c %a "$img")" = 600 ]
	[ "$(stat -c %s "$img")" -eq $((256 << 20)) ]
	[ "$(field idle "['type']")" = vm ]
	[ "$(field idle "['state']")" = stopped ]
	[ "$(field idle "['limits']['memory_bytes']")" -eq $((512 << 20)) ]
	# ids not shifted: root inside the VM owns its files
	if command -v debugfs >/dev/null || [ -x /usr/sbin/debugfs ] || [ -x /sbin/debugfs ]; then
		run env PATH="$PATH:/usr/sbin:/sbin" debugfs -R 'stat /bin/busybox' "$img"
		[[ "$output" == *"User:     0"* ]]
	fi
	run berth exec idle -- true
	[ "$status" -eq 3 ]
	[[ "$output" == *"not running"* ]]
	run berth stop idle
	[ "$status" -eq 3 ]
	berth set idle --memory 1G
	[ "$(field idle "['limits']['memory_bytes']")" -eq $((1 << 30)) ]
	run berth set idle --pids 10
	[ "$status" -eq 2 ]
	berth destroy idle
	[ ! -e "$BERTH_ROOT/guests/idle" ]
}

# --- boots: need KVM ----------------------------------------------------

@test "vm: create, start, exec, status, list" {
	need_kvm
	need_template
	berth create vm1 --type vm --template busybox --memory 256M --disk 128M
	# an initramfs an older berth built for this kernel: replaced, not kept
	mkdir -p "$BERTH_ROOT/cache"
	old_cpio=$BERTH_ROOT/cache/initramfs-$(cloud_kver)-0123456789abcdef.cpio
	: >"$old_cpio"
	berth start vm1
	[ ! -e "$old_cpio" ]
	[ "$(ls "$BERTH_ROOT"/cache/initramfs-"$(cloud_kver)"-*.cpio | wc -l)" -eq 1 ]
	[ "$(field vm1 "['state']")" = running ]
	pid=$(field vm1 "['pid']")
	[ -d "/proc/$pid" ]
	run berth list
	[[ "$output" == *"vm1"*"vm"*"running"*"$pid"* ]]
	[ -S "$BERTH_RUN/vm1/control.sock" ]
	run berth exec vm1 -- cat /proc/cmdline
	[ "$status" -eq 0 ]
	[[ "$output" == *"berth.root=/dev/vda"* ]]
	run berth exec vm1 -- sh -c 'exit 7'
	[ "$status" -eq 7 ]
	run berth exec vm1 -- uname -r
	[ "$status" -eq 0 ]
	[ "$output" = "$(cloud_kver)" ]
	[ -s "$BERTH_ROOT/guests/vm1/console.log" ]
	ls "$BERTH_ROOT"/cache/initramfs-"$(cloud_kver)"-*.cpio
	# set --hostname renames the running VM at once (as for containers)
	run berth exec vm1 -- hostname
	[ "$output" = vm1 ]
	run --separate-stderr berth set vm1 --hostname web-1
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
	run berth exec vm1 -- hostname
	[ "$output" = web-1 ]
	[ "$(field vm1 "['hostname']")" = web-1 ]
}

@test "vm: stop leaves no VMM, runtime dir or sockets" {
	need_kvm
	[ -e "$BERTH_ROOT/guests/vm1" ] || skip "the first boot test did not create vm1"
	pid=$(field vm1 "['pid']")
	[ -n "$pid" ]
	berth exec vm1 -- sh -c 'mkdir -p /root && echo x > /root/f && sync'
	berth stop vm1
	[ "$(field vm1 "['state']")" = stopped ]
	[ "$(field vm1 "['last_exit']['reason']")" = poweroff ]
	gone "$pid"
	no_runtime vm1
	run berth exec vm1 -- true
	[ "$status" -eq 3 ]
	[[ "$output" == *"not running"* ]]
}

@test "vm: data survives stop and start; kill; destroy leaves nothing" {
	need_kvm
	[ -e "$BERTH_ROOT/guests/vm1" ] || skip "the first boot test did not create vm1"
	berth start vm1
	run berth exec vm1 -- cat /root/f
	[ "$status" -eq 0 ]
	[ "$output" = x ]
	pid=$(field vm1 "['pid']")
	run berth destroy vm1
	[ "$status" -eq 3 ]
	berth kill vm1
	[ "$(field vm1 "['state']")" = stopped ]
	[ "$(field vm1 "['last_exit']['reason']")" = killed ]
	gone "$pid"
	no_runtime vm1
	berth destroy vm1
	[ ! -e "$BERTH_ROOT/guests/vm1" ]
	[ ! -e "$BERTH_RUN/vm1" ]
}

@test "vm: kill -9 of a VM's monitor ends its VMM, is cleaned up, and another VM runs on" {
	need_kvm
	need_template
	berth create vm2 --type vm --template busybox --memory 256M --disk 64M
	berth create vm3 --type vm --template busybox --memory 256M --disk 64M
	berth start vm2
	berth start vm3
	pid=$(field vm2 "['pid']")
	vmm=$(pgrep -P "$pid")
	[ -n "$vmm" ]
	kill -9 "$pid"
	for _ in $(seq 50); do gone "$pid" && gone "$vmm" && break; sleep 0.1; done
	gone "$pid"
	gone "$vmm"
	[ "$(berth exec vm3 -- echo alive)" = alive ]
	berth kill vm3
	berth destroy vm3
	[ "$(field vm2 "['state']")" = stopped ]
	[ "$(field vm2 "['last_exit']['reason']")" = monitor-lost ]
	no_runtime vm2
	berth destroy vm2
	[ ! -e "$BERTH_ROOT/guests/vm2" ]
}
