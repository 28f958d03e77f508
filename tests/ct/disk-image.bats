#!/usr/bin/env bats
# disk-image.bats - a container's --disk image holds the template's ids as
# they are (root 0, as a VM boots it) and the container sees it through an
# idmapped mount; images of older berths (shifted ids) still start; `set
# --type vm|ct` switches a stopped guest with a disk image, and `set` on a
# VM guest (no KVM needed: nothing here boots a VM; tests/vm/switch.bats does).
load helpers

setup() { common_setup; need_busybox; }
teardown() { common_teardown; }

export PATH="$PATH:/usr/sbin:/sbin"

# owner IMG PATH: the uid of PATH inside the (unmounted) ext4 image
owner() {
	debugfs -R "stat $2" "$1" 2>/dev/null | sed -n 's/.*User: *\([0-9]*\).*/\1/p'
}

# cfg NAME KEY: a top-level field of config.json ('' when absent)
cfg() {
	python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ''))" \
		"$BERTH_ROOT/guests/$1/config.json" "$2"
}

@test "a --disk image stores plain ids; inside, the container sees root as before" {
	berth create d1 --template busybox --disk 64M
	img=$BERTH_ROOT/guests/d1/disk.img
	base=$(uid_base d1)
	[ "$(cfg d1 disk_ids)" = plain ]
	[ "$(stat -c %u:%a "$img")" = 0:600 ]
	[ "$(owner "$img" /bin/busybox)" = 0 ]
	[ "$(owner "$img" /)" = 0 ]
	berth start d1
	run berth exec d1 -- stat -c %u:%g /bin/busybox /
	[ "$output" = "0:0
0:0" ]
	run berth exec d1 -- sh -c 'echo hi > /root/new && stat -c %u:%g /root/new && id -u'
	[ "$output" = "0:0
0" ]
	# on the host, through the monitor's idmapped mount: the guest's ids
	mon=$(json_field d1 "['monitor_pid']")
	run nsenter -t "$mon" -m stat -c %u "$BERTH_ROOT/guests/d1/rootfs/root/new"
	[ "$output" = "$base" ]
	# online growth works through the idmapped mount (where root may grow ext4)
	cap_eff=$(awk '/CapEff/ {print $2}' /proc/self/status)
	if [ $(( 0x$cap_eff & (1 << 24) )) -ne 0 ]; then
		berth set d1 --disk 96M
		run berth exec d1 -- df -m /
		[ "$(echo "$output" | awk 'NR==2 {print $2}')" -gt 70 ]
	fi
	berth stop --timeout 5 d1
	assert_no_leftovers d1 "$base"
	# on disk: root's files are uid 0
	[ "$(owner "$img" /root/new)" = 0 ]
	berth start d1
	run berth exec d1 -- cat /root/new
	[ "$output" = hi ]
	berth stop --timeout 5 d1
	assert_no_leftovers d1 "$base"
}

@test "an image of an older berth (shifted ids, no disk_ids) still starts as before" {
	berth create old --template busybox
	base=$(uid_base old)
	g=$BERTH_ROOT/guests/old
	# what berth made before: mkfs.ext4 -d from the shifted tree, rootfs/ a mount point
	mkfs.ext4 -q -F -m 0 -E root_owner="$base:$base" -d "$g/rootfs" "$g/disk.img" 64M
	chmod 600 "$g/disk.img"
	rm -rf "$g/rootfs"
	mkdir -m 755 "$g/rootfs"
	chown "$base:$base" "$g/rootfs"
	python3 - "$g/config.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["limits"]["disk"] = 64 << 20
c.pop("disk_ids", None)
json.dump(c, open(sys.argv[1], "w"))
EOF
	[ "$(owner "$g/disk.img" /bin/busybox)" = "$base" ]
	berth start old
	run berth exec old -- sh -c 'stat -c %u /bin/busybox; echo x > /root/o; stat -c %u /root/o'
	[ "$output" = "0
0" ]
	berth stop --timeout 5 old
	assert_no_leftovers old "$base"
	[ "$(owner "$g/disk.img" /root/o)" = "$base" ]
	# a VM could not boot it: refused, nothing changed
	cp "$g/config.json" "$TEST_TMP/before"
	run berth set old --type vm
	[ "$status" -eq 2 ]
	[[ "$output" == *"shifted ids"* ]]
	cmp "$g/config.json" "$TEST_TMP/before"
	berth start old
	run berth exec old -- cat /root/o
	[ "$output" = x ]
	berth stop --timeout 5 old
}

@test "set --type vm|ct: a stopped container with a disk switches; refusals change nothing" {
	g=$BERTH_ROOT/guests
	berth create nd --template busybox
	cp "$g/nd/config.json" "$TEST_TMP/nd"
	run berth set nd --type vm
	[ "$status" -eq 2 ]
	[[ "$output" == *"create the container with --disk"* ]]
	cmp "$g/nd/config.json" "$TEST_TMP/nd"
	run berth set nd --type kvm
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	run berth set nd --kernel /boot/vmlinuz
	[ "$status" -eq 2 ]
	[[ "$output" == *"for VM guests"* ]]
	cmp "$g/nd/config.json" "$TEST_TMP/nd"

	berth create sw --template busybox --disk 64M --cpus 0.5
	base=$(uid_base sw)
	berth start sw
	berth exec sw -- sh -c 'echo kept > /root/k'
	cp "$g/sw/config.json" "$TEST_TMP/sw"
	run berth set sw --type vm --cpus 1
	[ "$status" -eq 3 ]
	[[ "$output" == *"stop it first"* ]]
	cmp "$g/sw/config.json" "$TEST_TMP/sw"
	berth stop --timeout 5 sw
	# half a CPU is no VM: the whole number is asked for, nothing changed
	run berth set sw --type vm
	[ "$status" -eq 2 ]
	[[ "$output" == *"whole number of vCPUs"* ]]
	cmp "$g/sw/config.json" "$TEST_TMP/sw"

	berth set sw --type vm --cpus 1
	[ "$(json_field sw "['type']")" = vm ]
	[ "$(json_field sw "['limits']['memory_bytes']")" = $((512 << 20)) ]
	[ "$(json_field sw "['limits']['cpus_milli']")" = 1000 ]
	[ "$(json_field sw "['uid_base']")" = "$base" ]
	[ "$(cfg sw disk_ids)" = plain ]
	[ "$(owner "$g/sw/disk.img" /root/k)" = 0 ]
	run berth list
	[[ "$output" == *"sw"*"vm"*"stopped"* ]]

	# VM settings: stored; container-only limits and shrinking refused
	berth set sw --memory 256M --cpus 1 --cmdline "loglevel=3"
	[ "$(json_field sw "['limits']['memory_bytes']")" = $((256 << 20)) ]
	[[ "$(cat "$g/sw/config.json")" == *'"cmdline":"loglevel=3"'* ]]
	cp "$g/sw/config.json" "$TEST_TMP/sw"
	run berth set sw --pids 10
	[ "$status" -eq 2 ]
	[[ "$output" == *"for containers"* ]]
	run berth set sw --cpus 1.5
	[ "$status" -eq 2 ]
	run berth set sw --kernel /etc/hostname
	[ "$status" -eq 2 ]
	[[ "$output" == *"not a kernel"* ]]
	run berth set sw --disk 32M
	[ "$status" -eq 2 ]
	[[ "$output" == *"shrink"* ]]
	cmp "$g/sw/config.json" "$TEST_TMP/sw"
	[ "$(stat -c %s "$g/sw/disk.img")" -eq $((64 << 20)) ]
	berth set sw --disk 96M
	[ "$(stat -c %s "$g/sw/disk.img")" -eq $((96 << 20)) ]
	[ "$(json_field sw "['limits']['disk_bytes']")" = $((96 << 20)) ]
	e2fsck -fn "$g/sw/disk.img"

	# back to a container: same image, the file still there, more room
	chown "$base:$base" "$g/sw/disk.img"   # as a VM's start leaves it
	berth set sw --type ct
	[ "$(json_field sw "['type']")" = ct ]
	[ "$(stat -c %u:%a "$g/sw/disk.img")" = 0:600 ]
	[[ "$(cat "$g/sw/config.json")" != *'"vm"'* ]]
	berth start sw
	run berth exec sw -- sh -c 'cat /root/k; stat -c %u /root/k'
	[ "$output" = "kept
0" ]
	run berth exec sw -- df -m /
	[ "$(echo "$output" | awk 'NR==2 {print $2}')" -gt 70 ]
	berth stop --timeout 5 sw
	assert_no_leftovers sw "$base"
}

@test "a guest created as a VM starts as a container after set --type ct" {
	berth create v --type vm --template busybox --disk 64M --memory 128M
	base=$(uid_base v)
	[ ! -e "$BERTH_ROOT/guests/v/rootfs" ]
	run berth set v --type ct --kernel /boot/vmlinuz
	[ "$status" -eq 2 ]
	[[ "$output" == *"for VM guests"* ]]
	[ "$(json_field v "['type']")" = vm ]
	[ ! -e "$BERTH_ROOT/guests/v/rootfs" ]
	berth set v --type ct
	[ "$(json_field v "['type']")" = ct ]
	[ "$(stat -c %u "$BERTH_ROOT/guests/v/rootfs")" = "$base" ]
	berth start v
	run berth exec v -- sh -c 'id -u; stat -c %u /bin/busybox; echo ok > /root/c'
	[ "$output" = "0
0" ]
	berth stop --timeout 5 v
	assert_no_leftovers v "$base"
	[ "$(owner "$BERTH_ROOT/guests/v/disk.img" /root/c)" = 0 ]
	berth set v --type vm
	[ "$(json_field v "['type']")" = vm ]
}
