#!/usr/bin/env bats
# sandbox.bats - a `--type vm` guest's VMM runs sandboxed as the guest's
# label (src/vm/sandbox.h): uid/gid = uid_base, no capabilities,
# no_new_privs, seccomp filters per thread; and inside that sandbox what a
# compromised VMM would try is refused (hidden verb `berth sandbox-probe`).
#
# Boot tests need KVM that runs stock kernels:
#     RIG_MODE=qemu tests/vm/rig -- bats tests/vm/sandbox.bats
# The probe test runs anywhere as root. Needs: linux-image-cloud-amd64,
# busybox-static, e2fsprogs.
bats_require_minimum_version 1.5.0
load initramfs

setup_file() { guest_store_setup vmsandbox; }
teardown_file() { guest_store_teardown; }

# vmm_pid NAME: the VMM, the monitor's only child
vmm_pid() {
	local mon
	mon=$(field "$1" "['pid']")
	cat "/proc/$mon/task/$mon/children" | tr -d ' '
}

# status_of PID KEY: a field of /proc/PID/status
status_of() {
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

@test "sandbox-probe: outside a VM, the sandbox refuses files, devices, exec and root" {
	mkdir -p "$TEST_TMP/other"
	echo secret >"$TEST_TMP/other/disk.img"
	chmod 600 "$TEST_TMP/other/disk.img"
	sleep 60 &
	local victim=$!
	run berth sandbox-probe --uid 1073807360 open:/etc/shadow open:/dev/kvm \
		open:"$TEST_TMP/other/disk.img" write:"$TEST_TMP/new" write:/tmp/berth-sandbox-probe \
		ptrace:$victim exec:/bin/true setuid0
	kill $victim
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" != *ALLOWED* ]]
	[ ! -e "$TEST_TMP/new" ]
	[ ! -e /tmp/berth-sandbox-probe ]
	# Landlock alone (seccomp off) keeps world-writable /tmp closed too
	BERTH_VMM_NO_SECCOMP=1 run berth sandbox-probe --uid 1073807360 write:/tmp/berth-sandbox-probe
	echo "$output"
	[[ "$output" == *"Landlock unavailable"* ]] && skip "no Landlock in this kernel"
	[ "$status" -eq 0 ]
	[ ! -e /tmp/berth-sandbox-probe ]
}

@test "vm: the VMM runs as the guest's label, without privileges, under seccomp" {
	need_kvm
	need_template
	berth create sb1 --type vm --template busybox --memory 256M --disk 64M
	berth create sb2 --type vm --template busybox --memory 256M --disk 64M
	berth start sb1
	berth start sb2
	base=$(field sb1 "['uid_base']")
	[ "$base" -gt 0 ]
	vmm=$(vmm_pid sb1)
	[ -n "$vmm" ]
	read -r _ ruid euid suid fsuid < <(grep '^Uid:' "/proc/$vmm/status")
	[ "$ruid $euid $suid $fsuid" = "$base $base $base $base" ]
	read -r _ rgid egid sgid fsgid < <(grep '^Gid:' "/proc/$vmm/status")
	[ "$rgid $egid $sgid $fsgid" = "$base $base $base $base" ]
	[ -z "$(awk '$1 == "Groups:" { print $2 }' "/proc/$vmm/status")" ]
	[ "$(status_of "$vmm" CapEff)" = 0000000000000000 ]
	[ "$(status_of "$vmm" CapPrm)" = 0000000000000000 ]
	[ "$(status_of "$vmm" CapBnd)" = 0000000000000000 ]
	[ "$(status_of "$vmm" NoNewPrivs)" = 1 ]
	[ "$(status_of "$vmm" Seccomp)" = 2 ]
	# every thread filtered; the vCPU thread with its own filter stacked
	for t in /proc/$vmm/task/*; do
		[ "$(awk '$1 == "Seccomp:" { print $2 }' "$t/status")" = 2 ]
	done
	for t in /proc/$vmm/task/*; do
		if [ "$(cat "$t/comm")" = vcpu0 ]; then
			[ "$(awk '$1 == "Seccomp_filters:" { print $2 }' "$t/status")" = 2 ]
		fi
	done
	# the guest's files are the label's; the monitor stays root
	[ "$(stat -c %u:%a "$BERTH_ROOT/guests/sb1/disk.img")" = "$base:600" ]
	[ "$(stat -c %u "$BERTH_ROOT/guests/sb1/console.log")" = "$base" ]
	[ "$(status_of "$(field sb1 "['pid']")" Uid)" = 0 ]
	# it still works: exec over vsock
	run berth exec sb1 -- sh -c 'echo ok'
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
}

@test "vm: inside sb1's sandbox, sb2's disk, socket and VMM are out of reach" {
	need_kvm
	[ -e "$BERTH_RUN/sb2/control.sock" ] || skip "the boot test did not start sb2"
	base=$(field sb1 "['uid_base']")
	other=$(vmm_pid sb2)
	run berth sandbox-probe --uid "$base" open:"$BERTH_ROOT/guests/sb2/disk.img" \
		write:"$BERTH_ROOT/guests/sb2/disk.img" open:/etc/shadow open:/dev/kvm \
		connect:"$BERTH_RUN/sb2/control.sock" connect:"$BERTH_RUN/sb2/vsock.sock" \
		ptrace:"$other" write:/tmp/berth-sandbox-probe exec:/bin/true setuid0
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" != *ALLOWED* ]]
	[ -d "/proc/$other" ]
}

@test "vm: the sandbox refuses connecting even to a socket anyone may use" {
	need_template
	sock=$TEST_TMP/open.sock
	python3 -c 'import os, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777); s.listen(4)
time.sleep(30)' "$sock" &
	listener=$!
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	# reachable by anyone outside the sandbox (uid 65534 here) ...
	run setpriv --reuid 65534 --regid 65534 --clear-groups /usr/bin/python3 -c \
		'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$sock"
	[ "$status" -eq 0 ]
	# ... but not from inside it
	run berth sandbox-probe --uid 65534 connect:"$sock"
	kill "$listener"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" != *ALLOWED* ]]
}

@test "vm: the sandboxed VMM reboots in place, then stops and is cleaned up" {
	need_kvm
	[ -e "$BERTH_RUN/sb1/control.sock" ] || skip "the boot test did not start sb1"
	vmm=$(vmm_pid sb1)
	mon=$(field sb1 "['pid']")
	boot1=$(berth exec sb1 -- cat /proc/sys/kernel/random/boot_id)
	[ -n "$boot1" ]
	timeout 30 "$BERTH" exec sb1 -- reboot -f >/dev/null 2>&1 || true
	ok=
	for _ in $(seq 90); do
		if [ "$(timeout 10 "$BERTH" exec sb1 -- echo back 2>/dev/null)" = back ]; then
			ok=1
			break
		fi
		sleep 1
	done
	[ -n "$ok" ]
	[ "$(vmm_pid sb1)" = "$vmm" ]
	[ "$(berth exec sb1 -- cat /proc/sys/kernel/random/boot_id)" != "$boot1" ]
	run grep -q "sandbox: syscall" "$BERTH_ROOT/guests/sb1/console.log"
	[ "$status" -ne 0 ]
	berth stop sb1
	berth stop sb2
	[ "$(field sb1 "['last_exit']['reason']")" = poweroff ]
	[ ! -e "/proc/$mon" ] || grep -q '^[0-9]* (.*) Z' "/proc/$mon/stat"
	[ ! -e "/proc/$vmm" ] || grep -q '^[0-9]* (.*) Z' "/proc/$vmm/stat"
	[ ! -e "$BERTH_RUN/sb1" ]
	[ ! -e "$BERTH_RUN/sb2" ]
}

@test "berth vmm --sandbox-uid: reboots in place, then powers off; sockets in the uid's dir" {
	need_kvm
	command -v cpio >/dev/null && [ -x /bin/busybox ] || skip "needs cpio and busybox-static"
	local d=$TEST_TMP/bare uid=1073872896 kver
	kver=$(cloud_kver)
	mkdir -p "$d/run"
	chown "$uid:$uid" "$d/run"
	chmod 700 "$d/run"
	# first boot reboots (the VM is rebuilt under the sandbox), the second powers off
	mkinitramfs "$kver" "$INIT_HEAD"'
if [ -e /dev/vda ] && [ "$(head -c 5 /dev/vda)" = again ]; then
	echo "sandbox-bare second boot"; poweroff -f
fi
echo again | dd of=/dev/vda bs=5 count=1 conv=notrunc 2>/dev/null; sync
echo "sandbox-bare first boot"; reboot -f
sleep 30' "$d/init.cpio"
	head -c $((1 << 20)) /dev/zero >"$d/disk.img"
	run timeout 240 "$BERTH" vmm --kernel "$KERNEL" --initrd "$d/init.cpio" \
		--cmdline "console=ttyS0 reboot=k panic=-1 pci=off quiet" --disk "$d/disk.img" \
		--control "$d/run/control.sock" --vsock "$d/run/vsock.sock" --sandbox-uid "$uid" \
		</dev/null 3>&-
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"sandbox-bare first boot"* ]]
	[[ "$output" == *"sandbox-bare second boot"* ]]
	[[ "$output" != *"sandbox: syscall"* ]]
}
