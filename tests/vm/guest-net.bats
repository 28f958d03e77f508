#!/usr/bin/env bats
# guest-net.bats - the virtio-net of `--type vm` guests: create stores the
# guest's MAC (given with --mac or derived from its label), start makes the
# tap bt<label> in the host's network namespace with its host side up, the
# guest sees its MAC on eth0 and pings the tap's host side (moved into a
# network namespace of its own) and back, and the tap is gone after stop,
# after kill -9 of the VMM and after kill -9 of the monitor.
#
# Boot tests need KVM that runs stock kernels: run them as
#     RIG_MODE=qemu tests/vm/rig -- bats tests/vm/guest-net.bats
# Elsewhere they skip; the create tests run anywhere. The boot tests share
# one guest and run in order. Needs: linux-image-cloud-amd64,
# busybox-static (ping on the host side), iproute2, e2fsprogs.
bats_require_minimum_version 1.5.0
load initramfs

MAC=52:54:00:be:47:02
NS=berth-gnet-$$

setup_file() { guest_store_setup vmnet; }
teardown_file() {
	guest_store_teardown
	ip netns del "$NS" 2>/dev/null || true
}

gone() {
	[ ! -e "/proc/$1" ] || grep -q '^[0-9]* (.*) Z' "/proc/$1/stat"
}

# child_of PID: the pids whose parent is PID
child_of() {
	local f
	for f in /proc/[0-9]*/stat; do
		sed -n 's/^\([0-9]*\) (.*) . \([0-9]*\) .*/\1 \2/p' "$f" 2>/dev/null
	done | awk -v p="$1" '$2 == p { print $1 }'
}

# tap_gone TAP: no interface of that name in the host's or the test's
# namespace (waits up to 5 s: a killed process's fds close as it exits)
tap_gone() {
	local i
	for i in $(seq 50); do
		! ip link show "$1" >/dev/null 2>&1 && ! ip -n "$NS" link show "$1" >/dev/null 2>&1 &&
			return 0
		sleep 0.1
	done
	ip link show "$1" || true
	ip -n "$NS" link show "$1" || true
	return 1
}

# --- create: runs anywhere ----------------------------------------------

@test "create --type vm stores a MAC: --mac's, else one from the label; status shows it and the tap" {
	need_template
	berth create given --type vm --template busybox --disk 64M --mac "$MAC"
	berth create derived --type vm --template busybox --disk 64M
	[ "$(field given "['net']['mac']")" = "$MAC" ]
	grep -q "\"mac\":\"$MAC\"" "$BERTH_ROOT/guests/given/config.json"
	base=$(field derived "['uid_base']")
	want=$(printf '52:54:00:%02x:%02x:%02x' $((base >> 24 & 255)) $((base >> 16 & 255)) \
		$((base >> 8 & 255)))
	[ "$(field derived "['net']['mac']")" = "$want" ]
	grep -q "\"mac\":\"$want\"" "$BERTH_ROOT/guests/derived/config.json"
	[ "$(field derived "['net']['tap']")" = "bt$base" ]
	[ "$(field given "['net']['tap']")" = "bt$(field given "['uid_base']")" ]
	[ "$(field given "['net']['mac']")" != "$(field derived "['net']['mac']")" ]
	berth destroy given
	berth destroy derived
}

@test "create: a bad --mac, or --mac for a container, is one line, exit 2, nothing created" {
	need_template
	run berth create bad --type vm --template busybox --mac 01:00:5e:00:00:01
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"multicast"* ]]
	run berth create bad --type vm --template busybox --mac 52:54:00:zz:00:01
	echo "$output"
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"not of the form"* ]]
	run berth create bad --template busybox --mac "$MAC"
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--type vm"* ]]
	[ ! -e "$BERTH_ROOT/guests/bad" ]
}

# --- boots: need KVM ----------------------------------------------------

@test "vm net: the guest sees its MAC and pings the tap's host side in a netns, and back" {
	need_kvm
	need_template
	command -v ip >/dev/null || skip "no ip (apt-get install iproute2)"
	[ -x /bin/busybox ] || skip "no /bin/busybox (ping on the host side)"
	berth create n1 --type vm --template busybox --memory 256M --disk 64M --mac "$MAC"
	berth start n1
	tap=$(field n1 "['net']['tap']")
	# the monitor made the tap and brought its host side up
	run ip -o link show "$tap"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"<"*"UP"*">"* ]]
	run berth exec n1 -- cat /sys/class/net/eth0/address
	[ "$status" -eq 0 ]
	[ "$output" = "$MAC" ]
	ip netns add "$NS"
	ip link set "$tap" netns "$NS"
	ip -n "$NS" addr add 10.0.47.1/24 dev "$tap"
	ip -n "$NS" link set "$tap" up
	berth exec n1 -- busybox ip addr add 10.0.47.2/24 dev eth0
	berth exec n1 -- busybox ip link set eth0 up
	run berth exec n1 -- busybox ping -c 3 -W 2 10.0.47.1
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"bytes from 10.0.47.1"* ]]
	run ip netns exec "$NS" busybox ping -c 3 -W 2 10.0.47.2
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"bytes from 10.0.47.2"* ]]
	# the host side saw the guest's MAC
	run ip -n "$NS" neigh show 10.0.47.2
	echo "$output"
	[[ "$output" == *"$MAC"* ]]
	# the sandboxed VMM refused nothing on the way
	! grep -q "sandbox: syscall" "$BERTH_ROOT/guests/n1/console.log"
	! grep -q "berth vmm: virtio-net" "$BERTH_ROOT/guests/n1/console.log"
	berth stop n1
	[ "$(field n1 "['last_exit']['reason']")" = poweroff ]
	tap_gone "$tap"
}

@test "vm net: kill -9 of the VMM leaves no tap; the next start makes it again" {
	need_kvm
	[ -e "$BERTH_ROOT/guests/n1" ] || skip "the first boot test did not create n1"
	berth start n1
	tap=$(field n1 "['net']['tap']")
	ip link show "$tap"
	monitor=$(field n1 "['pid']")
	vmm=$(child_of "$monitor")
	[ -n "$vmm" ]
	kill -9 $vmm
	for _ in $(seq 50); do gone "$monitor" && break; sleep 0.1; done
	gone "$monitor"
	tap_gone "$tap"
	[ "$(field n1 "['state']")" = stopped ]
	[ "$(field n1 "['last_exit']['reason']")" = killed ]
}

@test "vm net: kill -9 of the monitor leaves no tap" {
	need_kvm
	[ -e "$BERTH_ROOT/guests/n1" ] || skip "the first boot test did not create n1"
	berth start n1
	tap=$(field n1 "['net']['tap']")
	ip link show "$tap"
	monitor=$(field n1 "['pid']")
	vmm=$(child_of "$monitor")
	[ -n "$vmm" ]
	kill -9 "$monitor"
	for _ in $(seq 50); do gone "$monitor" && gone "$vmm" && break; sleep 0.1; done
	gone "$monitor"
	gone "$vmm"
	tap_gone "$tap"
	[ "$(field n1 "['state']")" = stopped ]
	berth destroy n1
}
