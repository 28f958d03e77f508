#!/usr/bin/env bats
# virtio.bats - virtio-mmio in `berth vmm`: Debian's stock kernels find the
# devices through the ACPI DSDT (LNRO0005) once the virtio modules are
# loaded, /dev/hwrng gives bytes from the entropy device, and with
# --console virtio the guest's hvc0 is the VMM's stdin and stdout (and the
# Ctrl-] escape still works); --disk gives virtio-blk disks the guest reads
# and writes.
#
# Boot tests need a working /dev/kvm: run them as
#     RIG_MODE=qemu tests/vm/rig -- bats tests/vm/virtio.bats
# (RIG_MODE=qemu where /dev/kvm is kvm-pvm). Elsewhere they skip with the
# reason. Needs: linux-image-cloud-amd64 (and linux-image-amd64 for the
# generic-kernel test), busybox-static, cpio. Each nested boot takes
# ~10-15 s in the rig.
bats_require_minimum_version 1.5.0

load initramfs

MARK=BERTH-VIRTIO-MARKER
# quiet: every serial byte is an exit to the VMM, slow when nested
CMDLINE="console=ttyS0 reboot=k panic=-1 pci=off quiet"

# prints the virtio device IDs, the hwrng in use and 16 of its bytes (on
# hvc0 when there is a virtio console, after one line on ttyS0)
INIT_PROBE=$INIT_HEAD'
echo "'$MARK' on ttyS0"
[ -c /dev/hvc0 ] && exec >/dev/hvc0 2>&1
echo "'$MARK' devices: $(cat /sys/bus/virtio/devices/*/device | tr "\n" " ")"
echo "'$MARK' drivers: $(ls /sys/bus/virtio/drivers | tr "\n" " ")"
echo "'$MARK' hwrng: $(cat /sys/class/misc/hw_random/rng_current)"
echo "'$MARK' random: $(head -c 16 /dev/hwrng | od -An -tx1 | tr -d " \n")"
poweroff -f
sleep 30'

# on hvc0 if there is one (else on the serial console): says hello, reads
# a line from the VMM's stdin, echoes it back
INIT_HVC=$INIT_HEAD'
[ -c /dev/hvc0 ] && exec </dev/hvc0 >/dev/hvc0 2>&1
echo "'$MARK' hello on $(tty)"
read -r line
echo "'$MARK' got [$line]"
poweroff -f
sleep 30'

# reads and writes the two disks: vda read-write, vdb read-only
INIT_DISK=$INIT_HEAD'
echo "'$MARK' vda: $(cat /sys/block/vda/size) sectors, ro=$(cat /sys/block/vda/ro)"
echo "'$MARK' vdb: $(cat /sys/block/vdb/size) sectors, ro=$(cat /sys/block/vdb/ro)"
echo "'$MARK' vda says [$(head -c 17 /dev/vda)]"
echo "'$MARK' vdb says [$(head -c 17 /dev/vdb)]"
echo written-by-guest | dd of=/dev/vda bs=512 seek=1 conv=fsync 2>/dev/null && echo "'$MARK' vda written"
echo x | dd of=/dev/vdb bs=512 conv=fsync 2>/dev/null || echo "'$MARK' vdb refused the write"
poweroff -f
sleep 30'

setup_file() {
	local t=$BATS_FILE_TMPDIR k v
	command -v cpio >/dev/null && [ -x /bin/busybox ] || return 0
	for k in cloud generic; do
		if [ $k = cloud ]; then
			v=$(newest_kernel '*-cloud-amd64')
		else
			v=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | grep -v cloud | sort -V | tail -n 1)
		fi
		[ -n "$v" ] || continue
		v=${v#/boot/vmlinuz-}
		mkinitramfs "$v" "$INIT_PROBE" "$t/probe-$k.cpio" || rm -f "$t/probe-$k.cpio"
		[ $k = cloud ] || continue        # the generic kernel only gets the probe
		mkinitramfs "$v" "$INIT_HVC" "$t/hvc-$k.cpio" || rm -f "$t/hvc-$k.cpio"
		mkinitramfs "$v" "$INIT_DISK" "$t/disk-$k.cpio" || rm -f "$t/disk-$k.cpio"
	done
}

teardown() {
	if [ -n "${VMM_PID:-}" ]; then
		kill -KILL "$VMM_PID" 2>/dev/null
		VMM_PID=
	fi
}

# need_kvm [cloud|generic]: skip unless this host can run that stock kernel
# under KVM, and its initramfs could be built; sets KERNEL
need_kvm() {
	local k=${1:-cloud}
	need_kvm_kernel "$k"
	[ -f "$BATS_FILE_TMPDIR/probe-$k.cpio" ] ||
		skip "no initramfs for $KERNEL (needs busybox-static, cpio and the kernel's virtio modules)"
}

boot() { # boot INITRD [berth vmm options...]: run the VM with a timeout, no input
	local initrd=$1
	shift
	run timeout -k 5 "$BOOT_TIMEOUT" "$BERTH" vmm --kernel "$KERNEL" --initrd "$initrd" \
		--no-reboot --stats "$@" </dev/null
}

check_probe() { # the devices the probe initramfs reports
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$MARK devices: 0x0004 "* ]]          # rng in window 0
	[[ "$output" == *"$MARK drivers: "*"virtio_rng"* ]]
	[[ "$output" == *"$MARK hwrng: virtio_rng.0"* ]]
	[[ "$output" =~ $MARK\ random:\ [0-9a-f]{32} ]]
	[[ "$output" != *"$MARK random: 00000000000000000000000000000000"* ]]
	[[ "$output" != *"insmod"*"failed"* ]]
	[[ "$output" != *"berth vmm: virtio-"* ]]              # no complaint about the driver
}

@test "cloud kernel: the ACPI DSDT's virtio-mmio devices bind; /dev/hwrng gives bytes" {
	need_kvm cloud
	boot "$BATS_FILE_TMPDIR/probe-cloud.cpio" --cmdline "$CMDLINE"
	check_probe
	[[ "$output" == *"$MARK on ttyS0"* ]]
}

@test "generic -amd64 kernel: the same devices bind" {
	need_kvm generic
	boot "$BATS_FILE_TMPDIR/probe-generic.cpio" --cmdline "$CMDLINE"
	check_probe
	[[ "$output" == *"$MARK on ttyS0"* ]]
}

@test "--console virtio: rng and console; the UART's output is dropped" {
	need_kvm cloud
	boot "$BATS_FILE_TMPDIR/probe-cloud.cpio" --console virtio --cmdline "$CMDLINE"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$MARK devices: 0x0004 0x0003 "* ]]
	[[ "$output" == *"$MARK drivers: "*"virtio_console"* ]]
	[[ "$output" =~ $MARK\ random:\ [0-9a-f]{32} ]]
	[[ "$output" != *"$MARK on ttyS0"* ]]
}

# hvc_session INPUT [berth vmm options...]: boot the hvc initramfs with
# stdin on a fifo, wait for the guest's hello, then type INPUT and close
# stdin; sets status and output. Input must wait for the guest: Linux's
# virtio_console posts its receive buffers before it marks the console
# port connected, and drops what arrives in between (QEMU's console loses
# early input the same way).
hvc_session() {
	local input=$1 log=$BATS_TEST_TMPDIR/log fifo=$BATS_TEST_TMPDIR/in i
	shift
	mkfifo "$fifo"
	timeout -k 5 "$BOOT_TIMEOUT" "$BERTH" vmm --kernel "$KERNEL" \
		--initrd "$BATS_FILE_TMPDIR/hvc-cloud.cpio" --console virtio --no-reboot --stats "$@" \
		<"$fifo" >"$log" 2>&1 3>&- &
	VMM_PID=$!
	exec 4>"$fifo"
	for i in $(seq $((BOOT_TIMEOUT * 5))); do
		grep -q "$MARK hello on /dev/hvc0" "$log" && break
		kill -0 "$VMM_PID" 2>/dev/null || break
		sleep 0.2
	done
	(printf '%s' "$input" >&4) 2>/dev/null || true   # SIGPIPE if the VMM is gone
	exec 4>&-
	status=0
	wait "$VMM_PID" || status=$?
	VMM_PID=
	output=$(cat "$log")
	echo "$output"
}

@test "--console virtio: the guest's hvc0 is the VMM's stdout and stdin" {
	need_kvm cloud
	# no --cmdline: the default one says console=hvc0 with --console virtio
	hvc_session $'typed on stdin\n'
	[ "$status" -eq 0 ]
	[[ "$output" == *"$MARK hello on /dev/hvc0"* ]]
	[[ "$output" == *"$MARK got [typed on stdin]"* ]]
}

@test "--console virtio: SIGTERM stops the VM in order" {
	need_kvm cloud
	local log=$BATS_TEST_TMPDIR/log fifo=$BATS_TEST_TMPDIR/in i
	# stdin stays open and silent: the guest waits in `read`
	mkfifo "$fifo"
	"$BERTH" vmm --kernel "$KERNEL" --initrd "$BATS_FILE_TMPDIR/hvc-cloud.cpio" \
		--console virtio --stats <"$fifo" >"$log" 2>&1 3>&- &
	VMM_PID=$!
	exec 4>"$fifo"
	for i in $(seq $((BOOT_TIMEOUT * 5))); do
		grep -q "$MARK hello on /dev/hvc0" "$log" && break
		sleep 0.2
	done
	kill -TERM "$VMM_PID"
	for i in $(seq 100); do kill -0 "$VMM_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$VMM_PID" 2>/dev/null && echo "berth vmm ignored SIGTERM for 10 s"
	status=0
	wait "$VMM_PID" || status=$?
	VMM_PID=
	exec 4>&-
	cat "$log"
	grep -q "$MARK hello on /dev/hvc0" "$log"
	[ "$status" -eq 143 ]
	grep -q "stopped by signal" "$log"
}

@test "--disk: virtio-blk disks, read-write and read-only" {
	need_kvm cloud
	local a=$BATS_TEST_TMPDIR/a.img b=$BATS_TEST_TMPDIR/b.img
	truncate -s 8M "$a"
	truncate -s 1M "$b"
	printf 'disk-a-first-line' | dd of="$a" conv=notrunc status=none
	printf 'disk-b-first-line' | dd of="$b" conv=notrunc status=none
	boot "$BATS_FILE_TMPDIR/disk-cloud.cpio" --cmdline "$CMDLINE" --disk "$a" --disk "$b,ro"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$MARK vda: 16384 sectors, ro=0"* ]]
	[[ "$output" == *"$MARK vdb: 2048 sectors, ro=1"* ]]
	[[ "$output" == *"$MARK vda says [disk-a-first-line]"* ]]
	[[ "$output" == *"$MARK vdb says [disk-b-first-line]"* ]]
	[[ "$output" == *"$MARK vda written"* ]]
	[[ "$output" == *"$MARK vdb refused the write"* ]]
	[ "$(dd if="$a" bs=512 skip=1 count=1 status=none | head -c 16)" = written-by-guest ]
	[ "$(head -c 17 "$b")" = disk-b-first-line ]
	[[ "$output" == *"berth vmm: disk $a: reads "* ]]
}

# escape_session [berth vmm options...]: boot the hvc initramfs on a
# terminal (script(1) gives it a pty), wait for the guest's hello, type
# Ctrl-]; sets status and output
escape_session() {
	local log=$BATS_TEST_TMPDIR/log fifo=$BATS_TEST_TMPDIR/in i cmd t0=$SECONDS
	command -v script >/dev/null || skip "no script(1) (apt-get install bsdutils)"
	rm -f "$fifo"
	mkfifo "$fifo"
	# --foreground: the VMM must be in the terminal's foreground process
	# group to read it (else SIGTTIN stops it)
	printf -v cmd '%q ' timeout --foreground -k 5 "$BOOT_TIMEOUT" "$BERTH" vmm --kernel "$KERNEL" \
		--initrd "$BATS_FILE_TMPDIR/hvc-cloud.cpio" --no-reboot "$@"
	script -qfec "$cmd" /dev/null <"$fifo" >"$log" 2>&1 3>&- &
	VMM_PID=$!
	exec 4>"$fifo"
	for i in $(seq $((BOOT_TIMEOUT * 5))); do
		grep -q "$MARK hello on" "$log" && break
		kill -0 "$VMM_PID" 2>/dev/null || break
		sleep 0.2
	done
	# a subshell: if the VMM is gone already, SIGPIPE must not end the test
	(printf '\035' >&4) 2>/dev/null || true
	exec 4>&-
	status=0
	wait "$VMM_PID" || status=$?
	VMM_PID=
	output=$(cat "$log")
	echo "$output"
	echo "(session of $((SECONDS - t0)) s)"
}

@test "Ctrl-] on a terminal stops the VM, with --console virtio and serial" {
	need_kvm cloud
	escape_session --console virtio
	[[ "$output" == *"$MARK hello on /dev/hvc0"* ]]
	[ "$status" -eq 130 ]
	[[ "$output" == *"stopped from the console"* ]]
	escape_session --console serial --cmdline "$CMDLINE"
	[[ "$output" == *"$MARK hello on "* ]]
	[[ "$output" != *"$MARK hello on /dev/hvc0"* ]]
	[ "$status" -eq 130 ]
	[[ "$output" == *"stopped from the console"* ]]
}

# ---- bad input: no /dev/kvm needed ------------------------------------------

@test "--console with an unknown value" {
	run "$BERTH" vmm --kernel /nonexistent --console vga
	echo "$output"
	[ "$status" -eq 2 ]
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
	[[ "$output" == "berth vmm: --console 'vga': give serial (ttyS0) or virtio (hvc0)"* ]]
}

@test "--disk: more than 8, or a file that does not exist" {
	local args=() i
	for i in $(seq 9); do args+=(--disk /nonexistent); done
	run "$BERTH" vmm --kernel /nonexistent "${args[@]}"
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == "berth vmm: --disk: a VM takes at most 8 disks"* ]]
	local kernel
	kernel=$(newest_kernel '*-cloud-amd64')
	[ -n "$kernel" ] || skip "no cloud kernel installed"
	run "$BERTH" vmm --kernel "$kernel" --disk "$BATS_TEST_TMPDIR/none.img"
	echo "$output"
	[ "$status" -eq 2 ]
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
	[[ "$output" == *"none.img does not exist"* ]]
}
