#!/usr/bin/env bats
# vmm.bats - `berth vmm`, berth's own VMM, booting Debian's stock cloud kernel
# (bzImage, 64-bit entry, ACPI tables, 8250 console) to a tiny busybox
# initramfs that prints a marker and powers off.
#
# Boot tests need a working /dev/kvm: run them as
#     tests/vm/rig -- bats tests/vm/vmm.bats
#     RIG_SMP=2 tests/vm/rig -- bats -f 'cpus 2' tests/vm/vmm.bats
# (the two-vCPU test needs two CPUs in the rig; on hosts whose /dev/kvm is
# kvm-pvm, add RIG_MODE=qemu: the rig would otherwise run here directly).
# Known: with RIG_SMP=2 the whole file twice wedged the rig's outer guest
# during the reboot-in-place test (no console output, bats' own deadline
# never fired); alone, or with RIG_SMP=1, every test passes. Elsewhere they skip with the reason; the bad-input tests run
# anywhere (they fail before /dev/kvm is opened). Needs: linux-image-cloud-amd64,
# busybox-static, cpio. In the rig (nested KVM on TCG) a quiet boot takes
# ~13 s, so the whole file takes a few minutes.
bats_require_minimum_version 1.5.0

BERTH="$BATS_TEST_DIRNAME/../../build/berth"
MARK=BERTH-VMM-MARKER
# quiet: every console byte is an exit to the VMM, which is slow when nested
CMDLINE="console=ttyS0 reboot=k panic=-1 pci=off quiet"
BOOT_TIMEOUT=${BERTH_VMM_BOOT_TIMEOUT:-300}

berth() { "$BERTH" "$@"; }

cloud_kernel() {
	ls /boot/vmlinuz-*cloud-amd64 2>/dev/null | sort -V | tail -n 1
}

# mkinitramfs DIR INIT-SCRIPT OUT: busybox and INIT as /init, newc cpio
mkinitramfs() {
	local d=$1 out=$3
	mkdir -p "$d/bin" "$d/proc" "$d/dev" "$d/sys"
	cp /bin/busybox "$d/bin/busybox"
	for a in sh mount cut cat echo nproc poweroff reboot sleep grep tr; do
		ln -sf busybox "$d/bin/$a"
	done
	printf '%s\n' "$2" >"$d/init"
	chmod 755 "$d/init"
	(cd "$d" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$out"
}

setup_file() {
	local t=$BATS_FILE_TMPDIR
	if command -v cpio >/dev/null && [ -x /bin/busybox ]; then
		mkinitramfs "$t/poweroff" '#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
cs=/sys/devices/system/clocksource/clocksource0
echo "'$MARK' cpus=$(nproc) uptime=$(cut -d" " -f1 /proc/uptime) memtotal=$(grep MemTotal /proc/meminfo | tr -s " " | cut -d" " -f2) tscdeadline=$(grep -c -w tsc_deadline_timer /proc/cpuinfo) clock=$(cat $cs/current_clocksource) clocks=$(tr " " , <$cs/available_clocksource)"
poweroff -f
sleep 30' "$t/poweroff.cpio"
		# the pause after the marker keeps the VMM steady while the reboot
		# test counts its fds (not in the middle of rebuilding the machine)
		mkinitramfs "$t/reboot" '#!/bin/sh
export PATH=/bin
echo "'$MARK' rebooting"
sleep 2
reboot -f
sleep 30' "$t/reboot.cpio"
	fi
	head -c $((40 << 20)) /dev/zero >"$t/big.img"
	echo "this is not a kernel" >"$t/text"
}

teardown() {
	if [ -n "${VMM_PID:-}" ]; then
		kill -KILL "$VMM_PID" 2>/dev/null
		VMM_PID=
	fi
}

# need_kvm: skip unless this host can run a stock kernel under KVM
need_kvm() {
	[ -c /dev/kvm ] || skip "no /dev/kvm: run this file through tests/vm/rig"
	if [ -d /sys/module/kvm_pvm ] && [ ! -d /sys/module/kvm_intel ] && [ ! -d /sys/module/kvm_amd ]; then
		skip "/dev/kvm here is kvm-pvm (runs only PVM guest kernels): use RIG_MODE=qemu tests/vm/rig"
	fi
	KERNEL=$(cloud_kernel)
	[ -n "$KERNEL" ] || skip "no /boot/vmlinuz-*cloud-amd64 (apt-get install linux-image-cloud-amd64)"
	[ -f "$BATS_FILE_TMPDIR/poweroff.cpio" ] || skip "no initramfs (apt-get install busybox-static cpio)"
}

boot() { # boot INITRD [berth vmm options...]: run the VM with a timeout
	local initrd=$1
	shift
	run timeout -k 5 "$BOOT_TIMEOUT" "$BERTH" vmm --kernel "$KERNEL" --initrd "$initrd" \
		--cmdline "$CMDLINE" --no-reboot --stats "$@" </dev/null
}

@test "boots the cloud kernel to an initramfs; poweroff exits 0" {
	need_kvm
	boot "$BATS_FILE_TMPDIR/poweroff.cpio" --memory 256M
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$MARK cpus=1 "* ]]
	# MemTotal is the RAM given less what the kernel keeps for itself
	local kib
	kib=$(sed -n "s/.*$MARK .*memtotal=\([0-9]*\).*/\1/p" <<<"$output")
	[ "$kib" -gt $((200 * 1024)) ] && [ "$kib" -le $((256 * 1024)) ]
	# the machine as Linux sees it: kvm-clock, the TSC-deadline timer (so no
	# LAPIC timer calibration), no ACPI PM timer, and no ACPI complaints
	[[ "$output" == *" tscdeadline=1 clock=kvm-clock "* ]]
	[[ "$output" != *"acpi_pm"* ]]
	[[ "$output" != *"ACPI Error"* && "$output" != *"ACPI Warning"* && "$output" != *"ACPI BIOS"* ]]
}

@test "--cpus 2: the guest brings up both vCPUs" {
	need_kvm
	[ "$(nproc)" -ge 2 ] || skip "the host has one CPU (in the rig: RIG_SMP=2)"
	boot "$BATS_FILE_TMPDIR/poweroff.cpio" --cpus 2
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$MARK cpus=2 "* ]]
}

@test "an in-guest reboot ends the VMM with status 10 under --no-reboot" {
	need_kvm
	boot "$BATS_FILE_TMPDIR/reboot.cpio"
	echo "$output"
	[ "$status" -eq 10 ]
	[[ "$output" == *"$MARK rebooting"* ]]
	[[ "$output" == *"reboot"* ]]
}

@test "an in-guest reboot restarts the guest in the same process" {
	need_kvm
	local log=$BATS_TEST_TMPDIR/log fds1= fds2= n=0
	# fd 3 closed: bats waits for whoever holds it
	"$BERTH" vmm --kernel "$KERNEL" --initrd "$BATS_FILE_TMPDIR/reboot.cpio" \
		--cmdline "$CMDLINE" --stats </dev/null >"$log" 2>&1 3>&- &
	VMM_PID=$!
	local pid=$VMM_PID deadline=$((SECONDS + BOOT_TIMEOUT))
	while [ $SECONDS -lt $deadline ] && kill -0 $pid 2>/dev/null; do
		n=$(grep -c "$MARK rebooting" "$log" || true)
		# fds sampled in the first and the third boot, while the guest pauses
		# after its marker: a leak of even one fd per reboot shows as +2; one
		# transient fd (a file being read) is allowed
		[ "$n" -ge 1 ] && [ -z "$fds1" ] && fds1=$(ls /proc/$pid/fd | wc -l)
		if [ "$n" -ge 3 ]; then
			fds2=$(ls /proc/$pid/fd | wc -l)
			break
		fi
		sleep 0.2
	done
	kill -TERM $pid
	local i t
	for i in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	if kill -0 $pid 2>/dev/null; then
		echo "berth vmm ignored SIGTERM for 10 s; its threads:"
		for t in /proc/$pid/task/*; do
			echo "$t $(cat $t/comm) $(cat $t/wchan)"
			cat $t/stack
		done
		kill -KILL $pid
	fi
	status=0
	wait $pid || status=$?
	VMM_PID=
	cat "$log"
	[ "$n" -ge 3 ]
	[ "$status" -eq 143 ]                       # 128 + SIGTERM, after an orderly stop
	grep -q "boots [3-9]" "$log"
	[ "$fds2" -le $((fds1 + 1)) ]
}

@test "more memory than 3 GiB: RAM above the 32-bit hole" {
	need_kvm
	boot "$BATS_FILE_TMPDIR/poweroff.cpio" --memory 3584M
	echo "$output"
	[ "$status" -eq 0 ]
	local kib
	kib=$(sed -n "s/.*$MARK .*memtotal=\([0-9]*\).*/\1/p" <<<"$output")
	[ "$kib" -gt $((3200 * 1024)) ] && [ "$kib" -le $((3584 * 1024)) ]
}

# ---- bad input: no /dev/kvm needed ------------------------------------------

one_line_error() { # expected-status substring
	echo "$output"
	[ "$status" -eq "$1" ]
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
	[[ "$output" == "berth vmm: "*"$2"* ]]
}

@test "missing --kernel" {
	run berth vmm
	one_line_error 2 "missing --kernel"
}

@test "kernel file that does not exist" {
	run berth vmm --kernel /nonexistent/vmlinuz
	one_line_error 1 "/nonexistent/vmlinuz: No such file or directory"
}

@test "a text file as the kernel" {
	run berth vmm --kernel "$BATS_FILE_TMPDIR/text"
	one_line_error 1 "not a Linux kernel"
}

@test "a zero-filled file as the kernel" {
	run berth vmm --kernel "$BATS_FILE_TMPDIR/big.img"
	one_line_error 1 "not a Linux bzImage"
}

@test "initrd too big for the memory" {
	KERNEL=$(cloud_kernel)
	[ -n "$KERNEL" ] || skip "no cloud kernel installed"
	run berth vmm --kernel "$KERNEL" --initrd "$BATS_FILE_TMPDIR/big.img" --memory 80M
	one_line_error 2 "--memory"
}

@test "more vCPUs or memory than the host has" {
	KERNEL=$(cloud_kernel)
	[ -n "$KERNEL" ] || skip "no cloud kernel installed"
	run berth vmm --kernel "$KERNEL" --cpus $(($(nproc) + 1))
	one_line_error 4 "exceeds the host's"
	run berth vmm --kernel "$KERNEL" --memory 1T
	one_line_error 4 "exceeds the host's"
	run berth vmm --kernel "$KERNEL" --cpus 0
	one_line_error 2 "--cpus"
}

@test "no /dev/kvm: exit 4 and point at the rig" {
	KERNEL=$(cloud_kernel)
	[ -n "$KERNEL" ] || skip "no cloud kernel installed"
	[ "$(id -u)" = 0 ] && command -v unshare >/dev/null || skip "needs root and unshare"
	# a private /dev without kvm in it
	run unshare -m sh -c 'mount -t tmpfs none /dev && exec "$0" vmm --kernel "$1"' \
		"$BERTH" "$KERNEL"
	one_line_error 4 "no /dev/kvm: this host has no hardware virtualization"
	[[ "$output" == *"tests/vm/rig"* ]]
}
