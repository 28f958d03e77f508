#!/usr/bin/env bats
# Resource limits: pids, memory, cpus, weight, disk quota; live changes.
load helpers

setup() { common_setup; need_busybox; }
teardown() { common_teardown; }

cg_file() { # cg_file NAME CONTROLLER FILE -> path on v1/hybrid or v2
	if [ -e "/sys/fs/cgroup/$2/$BERTH_CGROUP_PARENT/$1/$3" ]; then
		echo "/sys/fs/cgroup/$2/$BERTH_CGROUP_PARENT/$1/$3"
	else
		echo "/sys/fs/cgroup/$BERTH_CGROUP_PARENT/$1/$3"
	fi
}

v2() { [ -e "/sys/fs/cgroup/$BERTH_CGROUP_PARENT/$1/memory.max" ]; }

# cg_limit NAME memory|pids|quota|weight: the limit as the kernel holds it,
# in v1 units (bytes, tasks, CFS quota in us, cpu.shares) on either layout
cg_limit() {
	local d=/sys/fs/cgroup/$BERTH_CGROUP_PARENT/$1
	if v2 "$1"; then
		case $2 in
		memory) cat "$d/memory.max" ;;
		pids) cat "$d/pids.max" ;;
		quota) awk '{print $1}' "$d/cpu.max" ;;
		weight) cat "$d/cpu.weight" ;;
		esac
	else
		case $2 in
		memory) cat "$(cg_file "$1" memory memory.limit_in_bytes)" ;;
		pids) cat "$(cg_file "$1" pids pids.max)" ;;
		quota) cat "$(cg_file "$1" cpu cpu.cfs_quota_us)" ;;
		weight) cat "$(cg_file "$1" cpu cpu.shares)" ;;
		esac
	fi
}

# CPU time used by guest $1 in microseconds
cg_cpu_usec() {
	local d=/sys/fs/cgroup/$BERTH_CGROUP_PARENT/$1
	if v2 "$1"; then
		awk '$1 == "usage_usec" {print $2}' "$d/cpu.stat"
	else
		echo $(( $(cat "$(cg_file "$1" cpuacct cpuacct.usage)") / 1000 ))
	fi
}

@test "a fork bomb is stopped by --pids while the host still forks" {
	berth create bomb --template busybox --pids 64
	berth start bomb
	# each shell forks two more; without a limit this never ends
	berth exec bomb -- sh -c 'b() { b | b & }; b' >/dev/null 2>&1 &
	sleep 3
	n=$(cat "$(cg_file bomb pids pids.current)")  # same file name on v1 and v2
	[ "$n" -le 64 ]
	# the host is fine
	run /bin/true
	[ "$status" -eq 0 ]
	run bash -c 'for i in $(seq 50); do /bin/true || exit 1; done'
	[ "$status" -eq 0 ]
	berth kill bomb
	assert_no_leftovers bomb "$(uid_base bomb)"
}

@test "a memory hog is OOM-killed inside its container only" {
	berth create hog --template busybox --memory 32M --swap 0
	berth start hog
	run berth exec hog -- dd if=/dev/zero of=/dev/null bs=100M count=1
	[ "$status" -eq 137 ]
	# init survived; the container still runs
	[ "$(json_field hog "['state']")" = running ]
	run berth exec hog -- echo alive
	[ "$output" = alive ]
	f=$(cg_file hog memory memory.oom_control)
	if [ -e "$f" ]; then grep -q "oom_kill [1-9]" "$f"; else grep -q "oom_kill [1-9]" "$(cg_file hog memory memory.events)"; fi
}

@test "limits land in the cgroup files and set changes them live" {
	berth create lim --template busybox --memory 64M --cpus 0.5 --cpu-weight 200 --pids 30
	berth start lim
	[ "$(cg_limit lim memory)" = 67108864 ]
	[ "$(cg_limit lim pids)" = 30 ]
	[ "$(cg_limit lim quota)" = 50000 ]
	if v2 lim; then [ "$(cg_limit lim weight)" = 200 ]; else [ "$(cg_limit lim weight)" = 2048 ]; fi
	berth set lim --memory 128M --pids 40 --cpus 1
	[ "$(cg_limit lim memory)" = 134217728 ]
	[ "$(cg_limit lim pids)" = 40 ]
	[ "$(cg_limit lim quota)" = 100000 ]
	# saved too
	berth stop --timeout 5 lim
	[ "$(json_field lim "['limits']['memory_bytes']")" = 134217728 ]
	berth set lim --memory unlimited
	[ "$(json_field lim "['limits']['memory_bytes']")" = "" ]
}

@test "--cpus caps CPU time" {
	berth create cpu --template busybox --cpus 0.2
	berth start cpu
	berth exec cpu -- sh -c 'while :; do :; done' &
	sleep 3
	pid=$(json_field cpu "['pid']")
	usage=$(cg_cpu_usec cpu)
	berth kill cpu
	# 0.2 CPU for ~3 s is ~0.6 s of CPU time; allow generous slack, but far below 3 s
	[ "$usage" -lt 1500000 ]
	[ "$usage" -gt 100000 ]
}

@test "--disk gives the container its own ext4 image; df shows the quota" {
	berth create dq --template busybox --disk 64M
	[ -f "$BERTH_ROOT/guests/dq/disk.img" ]
	berth start dq
	run berth exec dq -- df -m /
	size=$(echo "$output" | awk 'NR==2 {print $2}')
	[ "$size" -gt 40 ]
	[ "$size" -le 64 ]
	run berth exec dq -- dd if=/dev/zero of=/big bs=1M count=100
	[ "$status" -ne 0 ]
	[[ "$output" == *"No space left"* ]]
	berth exec dq -- sh -c 'rm /big; echo kept > /root/k'
	base=$(uid_base dq)
	# online ext4 growth needs CAP_SYS_RESOURCE, which some sandboxes lack
	cap_eff=$(awk '/CapEff/ {print $2}' /proc/self/status)
	if [ $(( 0x$cap_eff & (1 << 24) )) -ne 0 ]; then
		berth set dq --disk 128M
	else
		run berth set dq --disk 128M
		[ "$status" -ne 0 ]
		[[ "$output" == *"CAP_SYS_RESOURCE"* ]]
		[ "$(json_field dq "['limits']['disk_bytes']")" = $((64 << 20)) ]
		berth stop --timeout 5 dq
		berth set dq --disk 128M
		berth start dq
	fi
	run berth exec dq -- df -m /
	size=$(echo "$output" | awk 'NR==2 {print $2}')
	[ "$size" -gt 100 ]
	run berth set dq --disk 64M
	[ "$status" -ne 0 ]
	[[ "$output" == *"shrink"* ]]
	berth stop --timeout 5 dq
	assert_no_leftovers dq "$base"
	berth start dq
	run berth exec dq -- cat /root/k
	[ "$output" = kept ]
	berth destroy --force dq
	assert_no_leftovers dq "$base"
}
