#!/usr/bin/env bats
# robust.bats - what `berth vmm` promises when things go wrong or get hard:
# data flushed by the guest survives the VMM being killed, two VMMs are
# independent, the power button (SIGPWR or the control socket) shuts the
# guest down, and a hostile guest driver cannot crash the VMM.
#
# Boot tests need a working /dev/kvm: run them as
#     RIG_MODE=qemu tests/vm/rig -- bats tests/vm/robust.bats
# Elsewhere they skip with the reason. Each nested boot takes ~10-15 s.
bats_require_minimum_version 1.5.0

load initramfs

MARK=BERTH-ROBUST
CMDLINE="console=ttyS0 reboot=k panic=-1 pci=off quiet"

# one init for the disk tests: berth.test=write writes a token and flushes
# it (then idles, to be killed); berth.test=read prints what vda holds
INIT_DISK=$INIT_HEAD'
case "$(cat /proc/cmdline)" in
*berth.test=write*)
	tok=$(cat /proc/cmdline | tr " " "\n" | grep "^berth.token=" | cut -d= -f2)
	printf "%-64s" "$tok" | dd of=/dev/vda bs=512 conv=sync,fsync 2>/dev/null &&
		echo "'$MARK' flushed"
	sleep 600 ;;
*) echo "'$MARK' vda [$(head -c 64 /dev/vda | tr -d " ")]"
	poweroff -f ;;
esac
sleep 30'

# waits for the power button (ACPI button driver, evdev), then powers off
INIT_BUTTON=$INIT_HEAD'
for m in button evdev; do insmod /lib/modules/$m.ko || echo "insmod $m failed"; done
n=0; while [ ! -c /dev/input/event0 ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done
echo "'$MARK' ready"
head -c 24 /dev/input/event0 >/dev/null && echo "'$MARK' power button"
poweroff -f
sleep 30'

# no virtio driver: the hostile program drives the entropy device itself
INIT_HOSTILE='#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev
/bin/hostile_virtq
echo "'$MARK' hostile exit $?"
poweroff -f
sleep 30'

setup_file() {
	local t=$BATS_FILE_TMPDIR kver
	kver=$(cloud_kver) || return 0
	mkinitramfs "$kver" "$INIT_DISK" "$t/disk.cpio" || rm -f "$t/disk.cpio"
	EXTRA_MODULES="button evdev" mkinitramfs "$kver" "$INIT_BUTTON" "$t/button.cpio" ||
		rm -f "$t/button.cpio"
	if gcc -static -O2 -o "$t/hostile_virtq" "$BATS_TEST_DIRNAME/hostile_virtq.c"; then
		EXTRA_FILES="$t/hostile_virtq" mkinitramfs "$kver" "$INIT_HOSTILE" "$t/hostile.cpio" ||
			rm -f "$t/hostile.cpio"
	fi
}

teardown() {
	local p
	for p in ${VMM_PIDS:-}; do kill -KILL "$p" 2>/dev/null; done
	VMM_PIDS=
}

# start_vmm OUT INITRD [ARGS...]: a VMM in the background; pid in $VMM_PID
start_vmm() {
	local out=$1 initrd=$2
	shift 2
	"$BERTH" vmm --kernel "$KERNEL" --initrd "$initrd" --memory 256M "$@" </dev/null >"$out" 2>&1 &
	VMM_PID=$!
	VMM_PIDS="${VMM_PIDS:-} $VMM_PID"
}

# wait_for FILE TEXT [SECONDS]: until FILE contains TEXT
wait_for() {
	local i
	for ((i = 0; i < ${3:-$BOOT_TIMEOUT} * 10; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "timed out waiting for '$2' in $1:"; cat "$1"
	return 1
}

# wait_exit PID: its exit status in $RC (the VMM is our child: no subshell)
wait_exit() {
	RC=0
	wait "$1" || RC=$?
}

@test "a flushed write survives kill -9 of the VMM and reads back in the next boot" {
	need_kvm
	[ -f "$BATS_FILE_TMPDIR/disk.cpio" ] || skip "no initramfs (virtio modules missing?)"
	local img=$BATS_TEST_TMPDIR/disk.img tok=tok$RANDOM$RANDOM
	truncate -s 8M "$img"
	start_vmm "$BATS_TEST_TMPDIR/w.out" "$BATS_FILE_TMPDIR/disk.cpio" --disk "$img" \
		--cmdline "$CMDLINE berth.test=write berth.token=$tok"
	wait_for "$BATS_TEST_TMPDIR/w.out" "$MARK flushed"
	kill -KILL "$VMM_PID"
	wait_exit "$VMM_PID"
	[ "$RC" = 137 ]
	# the disk is free again (the lock died with the VMM) and holds the token
	run timeout "$BOOT_TIMEOUT" "$BERTH" vmm --kernel "$KERNEL" --initrd "$BATS_FILE_TMPDIR/disk.cpio" \
		--memory 256M --disk "$img" --cmdline "$CMDLINE berth.test=read" </dev/null
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"$MARK vda [$tok]"* ]]
	[ "$(head -c ${#tok} "$img")" = "$tok" ]
}

@test "a disk in use by one VMM is refused to a second one" {
	need_kvm
	[ -f "$BATS_FILE_TMPDIR/disk.cpio" ] || skip "no initramfs"
	local img=$BATS_TEST_TMPDIR/disk.img
	truncate -s 8M "$img"
	start_vmm "$BATS_TEST_TMPDIR/w.out" "$BATS_FILE_TMPDIR/disk.cpio" --disk "$img" \
		--cmdline "$CMDLINE berth.test=write berth.token=x"
	wait_for "$BATS_TEST_TMPDIR/w.out" "$MARK flushed"
	run "$BERTH" vmm --kernel "$KERNEL" --memory 256M --disk "$img" </dev/null
	[ "$status" -ne 0 ]
	[[ $output == *"in use"* ]]
	[ "${#lines[@]}" -eq 1 ]
	kill -0 "$VMM_PID"
}

@test "two VMMs run at once; kill -9 of one leaves the other, which then powers off on SIGPWR" {
	need_kvm
	[ -f "$BATS_FILE_TMPDIR/button.cpio" ] || skip "no initramfs"
	start_vmm "$BATS_TEST_TMPDIR/a.out" "$BATS_FILE_TMPDIR/button.cpio"
	local a=$VMM_PID
	start_vmm "$BATS_TEST_TMPDIR/b.out" "$BATS_FILE_TMPDIR/button.cpio"
	local b=$VMM_PID
	wait_for "$BATS_TEST_TMPDIR/a.out" "$MARK ready"
	wait_for "$BATS_TEST_TMPDIR/b.out" "$MARK ready"
	kill -KILL "$a"
	wait_exit "$a"
	[ "$RC" = 137 ]
	sleep 1
	kill -0 "$b"
	kill -PWR "$b"
	wait_for "$BATS_TEST_TMPDIR/b.out" "$MARK power button" 60
	wait_exit "$b"
	[ "$RC" = 0 ]
}

# control CMD SOCKET: one request line to the VMM's control socket, the answer
control() {
	python3 - "$2" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(120)
s.connect(sys.argv[1])
s.sendall((sys.argv[2] + "\n").encode())
print(s.makefile().readline().strip())
EOF
}

@test "the control socket reports status and 'stop' presses the power button" {
	need_kvm
	[ -f "$BATS_FILE_TMPDIR/button.cpio" ] || skip "no initramfs"
	local sock=$BATS_TEST_TMPDIR/control.sock
	start_vmm "$BATS_TEST_TMPDIR/c.out" "$BATS_FILE_TMPDIR/button.cpio" --control "$sock"
	wait_for "$BATS_TEST_TMPDIR/c.out" "$MARK ready"
	run control status "$sock"
	echo "$output"
	[[ $output == *'"state":"running"'* ]]
	[[ $output == *"\"pid\":$VMM_PID"* ]]
	[[ $output == *'"power_button_armed":true'* ]]
	run control "bogus" "$sock"
	[[ $output == "error unknown request"* ]]
	run control "stop 60" "$sock"
	[ "$output" = ok ]
	wait_exit "$VMM_PID"
	[ "$RC" = 0 ]
	grep -q "$MARK power button" "$BATS_TEST_TMPDIR/c.out"
	[ ! -e "$sock" ]
}

@test "'kill' on the control socket ends the VMM at once" {
	need_kvm
	[ -f "$BATS_FILE_TMPDIR/disk.cpio" ] || skip "no initramfs"
	local sock=$BATS_TEST_TMPDIR/control.sock img=$BATS_TEST_TMPDIR/disk.img
	truncate -s 8M "$img"
	start_vmm "$BATS_TEST_TMPDIR/k.out" "$BATS_FILE_TMPDIR/disk.cpio" --control "$sock" \
		--disk "$img" --cmdline "$CMDLINE berth.test=write berth.token=k"
	wait_for "$BATS_TEST_TMPDIR/k.out" "$MARK flushed"
	run control kill "$sock"
	[ "$output" = ok ]
	wait_exit "$VMM_PID"
	[ "$RC" = 137 ]
}

@test "a hostile virtio driver in the guest cannot crash the VMM" {
	need_kvm
	[ -f "$BATS_FILE_TMPDIR/hostile.cpio" ] || skip "no initramfs (gcc -static failed?)"
	run timeout "$BOOT_TIMEOUT" "$BERTH" vmm --kernel "$KERNEL" --initrd "$BATS_FILE_TMPDIR/hostile.cpio" \
		--memory 256M --cmdline "$CMDLINE" </dev/null
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"HOSTILE-DONE ok=12 bad=0"* ]]
	[[ $output == *"$MARK hostile exit 0"* ]]
	# the VMM said what the guest did wrong, but boundedly
	local n
	n=$(grep -c "berth vmm: virtio" <<<"$output" || true)
	[ "$n" -ge 1 ] && [ "$n" -le 40 ]
}
