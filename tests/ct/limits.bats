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

@test "a fork bomb is stopped by --pids while the host still forks" {
	berth create bomb --template busybox --pids 64
	berth start bomb
	# each shell forks two more; without a limit this never ends
	berth exec bomb -- sh -c 'b() { b | b & }; b' >/dev/null 2>&1 &
	sleep 3
	n=$(cat "$(cg_file bomb pids pids.current)")
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
	[ "$(cat "$(cg_file lim memory memory.limit_in_bytes)")" = 67108864 ]
	[ "$(cat "$(cg_file lim pids pids.max)")" = 30 ]
	[ "$(cat "$(cg_file lim cpu cpu.cfs_quota_us)")" = 50000 ]
	[ "$(cat "$(cg_file lim cpu cpu.shares)")" = 2048 ]
	berth set lim --memory 128M --pids 40 --cpus 1
	[ "$(cat "$(cg_file lim memory memory.limit_in_bytes)")" = 134217728 ]
	[ "$(cat "$(cg_file lim pids pids.max)")" = 40 ]
	[ "$(cat "$(cg_file lim cpu cpu.cfs_quota_us)")" = 100000 ]
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
	usage=$(cat "$(cg_file cpu cpuacct cpuacct.usage)")
	berth kill cpu
	# 0.2 CPU for ~3 s is ~0.6 s of CPU time; allow generous slack, but far below 3 s
	[ "$usage" -lt 1500000000 ]
	[ "$usage" -gt 100000000 ]
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
