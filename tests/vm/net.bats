#!/usr/bin/env bats
# net.bats - virtio-net in `berth vmm --net TAP`: the VMM creates the tap in
# a fresh network namespace, the host gives it 10.0.0.1/24, the guest
# (Debian's cloud kernel, virtio_net) takes 10.0.0.2/24 on eth0, and each
# side pings the other.
#
# Boot tests need a working /dev/kvm: run them as
#     RIG_MODE=qemu tests/vm/rig -- bats tests/vm/net.bats
# Elsewhere they skip with the reason. Needs: linux-image-cloud-amd64,
# busybox-static (ip and ping on both sides), cpio, iproute2.
bats_require_minimum_version 1.5.0

load initramfs

MARK=BERTH-NET-MARKER
NS=berth-net-test-$$
# virtio_net depends on net_failover, which depends on failover
EXTRA_MODULES="failover net_failover virtio_net"

# on hvc0: bring up eth0, ping the host until it answers (the host sets up
# its side of the tap after the VMM started), then ping it for the record,
# say so, and wait for a line on stdin (the host pings us meanwhile)
INIT_NET=$INIT_HEAD'
exec </dev/hvc0 >/dev/hvc0 2>&1
for m in '$EXTRA_MODULES'; do insmod /lib/modules/$m.ko || echo "insmod $m failed"; done
echo "'$MARK' mac $(cat /sys/class/net/eth0/address)"
busybox ip link set lo up
busybox ip addr add 10.0.0.2/24 dev eth0
busybox ip link set eth0 up
for i in $(seq 30); do busybox ping -c 1 -W 1 10.0.0.1 >/dev/null 2>&1 && break; sleep 1; done
if busybox ping -c 3 -W 2 10.0.0.1; then echo "'$MARK' guest ping ok"; else echo "'$MARK' guest ping failed"; fi
echo "'$MARK' ready"
read -r line
echo "'$MARK' got [$line]"
poweroff -f
sleep 30'

setup_file() {
	local v
	command -v cpio >/dev/null && [ -x /bin/busybox ] || return 0
	v=$(newest_kernel '*-cloud-amd64')
	[ -n "$v" ] || return 0
	v=${v#/boot/vmlinuz-}
	EXTRA_MODULES=$EXTRA_MODULES mkinitramfs "$v" "$INIT_NET" "$BATS_FILE_TMPDIR/net.cpio" ||
		rm -f "$BATS_FILE_TMPDIR/net.cpio"
}

teardown() {
	if [ -n "${VMM_PID:-}" ]; then
		kill -KILL "$VMM_PID" 2>/dev/null
		wait "$VMM_PID" 2>/dev/null
		VMM_PID=
	fi
	exec 4>&- 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
}

@test "--net: the guest and the host ping each other over the tap" {
	need_kvm cloud
	[ -f "$BATS_FILE_TMPDIR/net.cpio" ] ||
		skip "no initramfs (needs busybox-static, cpio and virtio_net with its dependencies)"
	command -v ip >/dev/null || skip "no ip (apt-get install iproute2)"
	local log=$BATS_TEST_TMPDIR/log fifo=$BATS_TEST_TMPDIR/in i host=1
	ip netns add "$NS"
	mkfifo "$fifo"
	ip netns exec "$NS" timeout -k 5 "$BOOT_TIMEOUT" "$BERTH" vmm --kernel "$KERNEL" \
		--initrd "$BATS_FILE_TMPDIR/net.cpio" --console virtio --no-reboot --stats \
		--net tap0,mac=52:54:00:be:47:01 <"$fifo" >"$log" 2>&1 3>&- &
	VMM_PID=$!
	exec 4>"$fifo"
	for i in $(seq 100); do
		ip -n "$NS" link show tap0 >/dev/null 2>&1 && break
		kill -0 "$VMM_PID" 2>/dev/null || break
		sleep 0.1
	done
	ip -n "$NS" addr add 10.0.0.1/24 dev tap0
	ip -n "$NS" link set tap0 up
	for i in $(seq $((BOOT_TIMEOUT * 5))); do
		grep -q "$MARK ready" "$log" && break
		kill -0 "$VMM_PID" 2>/dev/null || break
		sleep 0.2
	done
	ip netns exec "$NS" busybox ping -c 3 -W 2 10.0.0.2 && host=0
	(printf 'bye\n' >&4) 2>/dev/null || true
	exec 4>&-
	status=0
	wait "$VMM_PID" || status=$?
	VMM_PID=
	cat "$log"
	[ "$status" -eq 0 ]
	grep -q "$MARK mac 52:54:00:be:47:01" "$log"
	grep -q "$MARK guest ping ok" "$log"
	grep -q "$MARK got \[bye\]" "$log"
	[ "$host" -eq 0 ]
	! grep -q "insmod.*failed" "$log"
	! grep -q "berth vmm: virtio-" "$log"
	# the tap the VMM created went away with it
	! ip -n "$NS" link show tap0 2>/dev/null
}

@test "--net: bad specifications are refused with one line" {
	run -2 "$BERTH" vmm --kernel /nonexistent --net 'a/b'
	echo "$output"
	[[ "$output" == *"a tap name is 1 to 15 characters"* ]]
	run -2 "$BERTH" vmm --kernel /nonexistent --net tap0,mac=01:00:00:00:00:01
	[[ "$output" == *"multicast"* ]]
	run -2 "$BERTH" vmm --kernel /nonexistent --net tap0 --net tap1
	[[ "$output" == *"a VM takes one network device"* ]]
}
