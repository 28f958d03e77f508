#!/usr/bin/env bats
# The host ledger and overcommit policy: berth host, host set/get/reset,
# admission at create/start/set (exit 5), the race of two starts, damaged
# files, validate, autostart, stop --all.
load helpers

setup() { common_setup; need_busybox; }
teardown() { common_teardown; }

EXIT_POLICY=5

hostjson() { # hostjson PYEXPR: a value of `berth host --json`
	"$BERTH" host --json | python3 -c "import json,sys; v=json.load(sys.stdin); print($1)"
}

memtotal() { echo $(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) * 1024 )); }
ncpus() { getconf _NPROCESSORS_ONLN; }

# Leave exactly LIMIT bytes of memory for guests: reserve = MemTotal - LIMIT.
memory_limit() { berth host set reserve.memory=$(( $(memtotal) - $1 )) >/dev/null; }

running() { [ "$(json_field "$1" "['state']")" = running ]; }

@test "host --json: cpus, memory and disk are the host's" {
	[ "$(hostjson "v['host']['cpus']")" = "$(ncpus)" ]
	[ "$(hostjson "v['host']['memory_bytes']")" = "$(memtotal)" ]
	local free df
	free=$(hostjson "v['host']['disk_free_bytes']")
	df=$(df -B1 --output=avail "$BERTH_ROOT" | tail -1)
	# within 64M of df (other writers on the file system)
	[ $(( free - df )) -lt $((64 << 20)) ] && [ $(( df - free )) -lt $((64 << 20)) ]
	[ "$(hostjson "v['capacity']['memory_bytes'] - v['reserve']['memory_bytes'] == v['limit']['memory_bytes']")" = True ]
	[ "$(hostjson "v['reserve']['memory_bytes']")" = $((512 << 20)) ]
	[ "$(hostjson "v['policy']['vm.memory.overcommit']")" = 1.0 ]
	[ "$(hostjson "v['policy']['ct.memory.overcommit']")" = 1.5 ]
	run -0 berth host
	[[ "$output" == *"$(ncpus) cpus"* ]]
	[[ "$output" == *headroom* ]]
}

@test "host: defined and running guests counted by type" {
	berth create a --template busybox --memory 256M --cpus 0.5 >/dev/null
	berth create b --template busybox --memory 512M --cpus 1 --disk 64M >/dev/null
	berth create c --template busybox >/dev/null
	[ "$(hostjson "v['defined']['ct']['guests']")" = 3 ]
	[ "$(hostjson "v['defined']['ct']['memory_bytes']")" = $((768 << 20)) ]
	[ "$(hostjson "v['defined']['ct']['cpus_milli']")" = 1500 ]
	[ "$(hostjson "v['defined']['ct']['disk_bytes']")" = $((64 << 20)) ]
	[ "$(hostjson "v['defined']['ct']['unlimited']['memory']")" = 1 ]
	[ "$(hostjson "v['running']['ct']['guests']")" = 0 ]
	berth start b
	[ "$(hostjson "v['running']['ct']['guests']")" = 1 ]
	[ "$(hostjson "v['running']['ct']['memory_bytes']")" = $((512 << 20)) ]
	# 512M of containers at 1.5 commit 341.3M of host memory
	[ "$(hostjson "v['committed']['memory_bytes']")" = $(( ((512 << 20) * 1000 + 1499) / 1500 )) ]
	berth stop --timeout 5 b
	[ "$(hostjson "v['running']['ct']['guests']")" = 0 ]
}

@test "host set/get: round trip, all keys, reset" {
	run -0 berth host set ct.memory.overcommit=2.5 vm.cpus.overcommit=8 reserve.memory=10% reserve.cpus=0.5 reserve.disk=2G
	[[ "$output" == *"ct.memory.overcommit=2.5"* ]]
	run -0 berth host get ct.memory.overcommit vm.cpus.overcommit reserve.memory reserve.cpus reserve.disk
	[ "$output" = "ct.memory.overcommit=2.5
vm.cpus.overcommit=8.0
reserve.cpus=0.5
reserve.memory=10%
reserve.disk=2G" ]
	[ "$(hostjson "v['reserve']['memory_bytes']")" = $(( $(memtotal) / 10 )) ]
	[ "$(hostjson "v['reserve']['cpus_milli']")" = 500 ]
	berth host set '*.disk.overcommit=3' >/dev/null
	[ "$(berth host get ct.disk.overcommit vm.disk.overcommit)" = "ct.disk.overcommit=3.0
vm.disk.overcommit=3.0" ]
	run -0 berth host reset
	[ ! -e "$BERTH_ROOT/policy.json" ]
	[ "$(berth host get ct.memory.overcommit)" = "ct.memory.overcommit=1.5" ]
}

@test "host set: bad keys and values refused, nothing changed" {
	berth host set ct.memory.overcommit=2 >/dev/null
	local before
	before=$(cat "$BERTH_ROOT/policy.json")
	for kv in ct.memory.overcommit=abc ct.memory.overcommit=0 ct.memory.overcommit=1e3 \
		  ct.memory.overcommit=-1 vm.cpus.overcommit= reserve.memory=lots reserve.memory=100% \
		  reserve.cpus=-1 bogus.key=1 ct.memory=1 novalue; do
		run -2 berth host set "$kv"
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == "berth host: "* ]]
	done
	# one good and one bad: all or nothing
	run -2 berth host set vm.memory.overcommit=2 ct.cpus.overcommit=x
	[ "$(cat "$BERTH_ROOT/policy.json")" = "$before" ]
	run -2 berth host get bogus
}

@test "create refuses what the policy does not allow: memory, cpus, disk" {
	memory_limit $((1 << 30))
	# containers at 1.5: 1.5G fits a 1G limit, 2G does not
	run -$EXIT_POLICY berth create m --template busybox --memory 2G
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"memory 2G for ct 'm' exceeds the limit"* ]]
	[[ "$output" == *"> 1G"* ]]
	[[ "$output" == *"ct.memory.overcommit=1.5"* ]]
	[[ "$output" == *"raise ct.memory.overcommit"* ]]
	[ ! -e "$BERTH_ROOT/guests/m" ]
	run -0 berth create m --template busybox --memory 1.5G
	# all the host's CPUs at 0.5 count twice the host
	berth host set ct.cpus.overcommit=0.5 >/dev/null
	run -$EXIT_POLICY berth create c --template busybox --cpus "$(ncpus)"
	[[ "$output" == *"cpus $(ncpus) for ct 'c' exceeds the limit: $(ncpus) / ct.cpus.overcommit=0.5 = $(( $(ncpus) * 2 )) > $(ncpus)"* ]]
	[ ! -e "$BERTH_ROOT/guests/c" ]
	run -$EXIT_POLICY berth create d --template busybox --disk 100T
	[[ "$output" == *"disk 100T for ct 'd' exceeds the limit"* ]]
	[[ "$output" == *"committed to defined guests"* ]]
	[[ "$output" == *"ct.disk.overcommit"* ]]
	[ ! -e "$BERTH_ROOT/guests/d" ]
	# raising the key lets it through
	berth host set ct.memory.overcommit=2 >/dev/null
	run -0 berth create m2 --template busybox --memory 2G
}

@test "start refuses what running guests leave no room for" {
	memory_limit $((1 << 30))
	berth create a --template busybox --memory 1G >/dev/null
	berth create b --template busybox --memory 1G >/dev/null
	berth start a
	run -$EXIT_POLICY berth start b
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"memory 1G for ct 'b' exceeds the limit: 682.7M committed to running guests + 1G / ct.memory.overcommit=1.5"* ]]
	[[ "$output" == *"> 1G"* ]]
	! running b
	berth stop --timeout 5 a
	berth start b
	running b
	berth stop --timeout 5 b
	# cpus
	berth host reset >/dev/null
	berth host set ct.cpus.overcommit=1 >/dev/null
	local half=$(( $(ncpus) * 1000 / 2 + 100 ))
	berth create x --template busybox --cpus "$((half / 1000)).$(printf %03d $((half % 1000)))" >/dev/null
	berth create y --template busybox --cpus "$((half / 1000)).$(printf %03d $((half % 1000)))" >/dev/null
	berth start x
	run -$EXIT_POLICY berth start y
	[[ "$output" == *"for ct 'y' exceeds the limit"* ]]
	[[ "$output" == *"committed to running guests"* ]]
	[[ "$output" == *"raise ct.cpus.overcommit"* ]]
	! running y
}

@test "set refuses what the policy does not allow; nothing changed" {
	memory_limit $((1 << 30))
	berth create a --template busybox --memory 512M --disk 64M >/dev/null
	berth create b --template busybox --memory 256M >/dev/null
	# stopped: the guest alone must fit
	run -$EXIT_POLICY berth set a --memory 2G
	[[ "$output" == *"memory 2G for ct 'a' exceeds the limit"* ]]
	[ "$(json_field a "['limits']['memory_bytes']")" = $((512 << 20)) ]
	run -0 berth set a --memory 1.5G
	run -0 berth set a --memory 1G
	# running: with the other running guests
	berth start b
	berth start a
	run -$EXIT_POLICY berth set a --memory 1.5G
	[[ "$output" == *"committed to running guests"* ]]
	[ "$(json_field a "['limits']['memory_bytes']")" = $((1 << 30)) ]
	# what does not grow is never refused, even over the limit
	berth host set ct.memory.overcommit=0.1 >/dev/null
	run -0 berth set a --memory 256M
	run -0 berth set a --hostname renamed
	# disk against the defined guests
	run -$EXIT_POLICY berth set a --disk 100T
	[[ "$output" == *"disk 100T for ct 'a'"* ]]
	[ "$(json_field a "['limits']['disk_bytes']")" = $((64 << 20)) ]
	# cpus
	berth host set ct.cpus.overcommit=1 >/dev/null
	run -$EXIT_POLICY berth set b --cpus $(( $(ncpus) + 1 ))
	[[ "$output" == *"raise ct.cpus.overcommit"* ]]
}

@test "two starts at the same moment: only the one that fits runs" {
	berth host set ct.cpus.overcommit=1 >/dev/null
	local c=$(( $(ncpus) * 1000 / 2 + 100 ))
	c="$((c / 1000)).$(printf %03d $((c % 1000)))"
	berth create p --template busybox --cpus "$c" >/dev/null
	berth create q --template busybox --cpus "$c" >/dev/null
	for i in 1 2 3 4; do
		"$BERTH" start p 2>"$TEST_TMP/p.err" & local pp=$!
		"$BERTH" start q 2>"$TEST_TMP/q.err" & local pq=$!
		local rp=0 rq=0
		wait $pp || rp=$?
		wait $pq || rq=$?
		local n=0
		running p && n=$((n + 1))
		running q && n=$((n + 1))
		[ "$n" -eq 1 ] || { cat "$TEST_TMP"/*.err; false; }
		# exactly one succeeded, the other was refused by the policy
		[ $((rp + rq)) -eq $EXIT_POLICY ] || { echo "rp=$rp rq=$rq"; cat "$TEST_TMP"/*.err; false; }
		cat "$TEST_TMP/p.err" "$TEST_TMP/q.err" | grep -q "exceeds the limit"
		berth kill p 2>/dev/null || berth kill q
	done
}

@test "damaged policy: refused with the fix; damaged guest config counts 0 with a warning" {
	echo '{"ct.memory.overcommit": "1.5", "garbage' >"$BERTH_ROOT/policy.json"
	berth create a --template busybox --memory 256M 2>/dev/null || true
	run berth host
	[ "$status" -eq 1 ]
	[[ "$output" == *"policy.json is damaged"* ]]
	[[ "$output" == *"berth host reset"* ]]
	run -1 berth host set ct.memory.overcommit=2
	run berth create b --template busybox
	[ "$status" -ne 0 ] && [[ "$output" == *"berth host reset"* ]]
	[ ! -e "$BERTH_ROOT/guests/b" ]
	berth host reset >/dev/null
	run -0 berth host
	# a guest whose config is damaged is named and counted 0
	berth create c --template busybox --memory 512M >/dev/null
	berth create d --template busybox --memory 256M >/dev/null
	echo '{ broken' >"$BERTH_ROOT/guests/c/config.json"
	run -0 berth host --json
	[[ "$output" == *"could not be read (first: 'c')"* ]]
	[ "$(hostjson "v['defined']['ct']['memory_bytes']" 2>/dev/null)" = $((256 << 20)) ]
	[ "$(hostjson "v['unreadable_guests']" 2>/dev/null)" = 1 ]
	rm -rf "$BERTH_ROOT/guests/c"
}

@test "validate: OK, or the reason with exit 5" {
	memory_limit $((1 << 30))
	berth create a --template busybox --memory 1G >/dev/null
	berth create b --template busybox --memory 1G >/dev/null
	run -0 berth validate a
	[[ "$output" == "OK: ct 'a' fits"* ]]
	berth start a
	run -0 berth validate a
	run -$EXIT_POLICY berth validate b
	[[ "$output" == *"memory 1G for ct 'b' exceeds the limit"* ]]
	! running b
	# a tighter policy makes a defined guest invalid
	berth host set ct.memory.overcommit=0.5 >/dev/null
	run -$EXIT_POLICY berth validate a
	run -3 berth validate nosuch
	run -2 berth validate
}

@test "onboot is stored; autostart starts onboot guests by name and reports failures" {
	berth host set ct.cpus.overcommit=1 >/dev/null
	local c=$(( $(ncpus) * 1000 / 2 + 100 ))
	c="$((c / 1000)).$(printf %03d $((c % 1000)))"
	berth create a1 --template busybox --onboot --cpus "$c" >/dev/null
	berth create b2 --template busybox --onboot --cpus "$c" >/dev/null  # no room after a1
	berth create c3 --template busybox --onboot >/dev/null
	berth create d4 --template busybox >/dev/null
	berth create e5 --template busybox >/dev/null
	berth set e5 --onboot yes
	[ "$(json_field a1 "['onboot']")" = True ]
	[ "$(json_field d4 "['onboot']")" = False ]
	[ "$(json_field e5 "['onboot']")" = True ]
	berth set e5 --onboot no
	[ "$(json_field e5 "['onboot']")" = False ]
	berth set e5 --onboot yes
	run --separate-stderr -1 berth autostart
	[ "$output" = "a1: started
c3: started
e5: started" ]
	[[ "$stderr" == *"berth autostart: b2: cpus"*"exceeds the limit"* ]]
	[[ "$stderr" == *"1 guest failed to start (first: 'b2'), 3 started"* ]]
	running a1 && running c3 && running e5
	! running b2 && ! running d4
	# again: a1 started anew, the running ones left alone, b2 still refused
	berth kill a1
	run -1 berth autostart
	[[ "$output" == *"a1: started"* ]]
	[[ "$output" == *"c3: already running"* ]]
	[[ "$output" == *"b2: cpus"* ]]
}

@test "stop --all stops every running guest at once and leaves nothing behind" {
	berth create a1 --template busybox >/dev/null
	berth create b2 --template busybox >/dev/null
	berth create c3 --template busybox >/dev/null
	berth start a1
	berth start b2
	local ba bb
	ba=$(uid_base a1)
	bb=$(uid_base b2)
	run -0 berth stop --all --timeout 20
	[ "$(sort <<<"$output")" = "a1: stopped
b2: stopped" ]
	! running a1 && ! running b2 && ! running c3
	assert_no_leftovers a1 "$ba"
	assert_no_leftovers b2 "$bb"
	run -0 berth stop --all
	[ "$output" = "no guest is running" ]
	run -2 berth stop --all a1
	[[ "$output" == *"give no NAME"* ]]
	run -2 berth restart --all
}

@test "VM guests are counted and admitted as vm (no KVM needed to define one)" {
	ls /boot/vmlinuz-*-cloud-amd64 >/dev/null 2>&1 || skip "no cloud kernel"
	memory_limit $((1 << 30))
	run -$EXIT_POLICY berth create v --type vm --template busybox --memory 1.5G
	[[ "$output" == *"memory 1.5G for vm 'v' exceeds the limit"* ]]
	[[ "$output" == *"vm.memory.overcommit=1.0"* ]]
	run -0 berth create v --type vm --template busybox --memory 768M --cpus 1
	[ "$(hostjson "v['defined']['vm']['guests']")" = 1 ]
	[ "$(hostjson "v['defined']['vm']['memory_bytes']")" = $((768 << 20)) ]
	[ "$(hostjson "v['defined']['vm']['cpus_milli']")" = 1000 ]
	# the default disk of a VM (1G) is committed
	[ "$(hostjson "v['defined']['vm']['disk_bytes']")" = $((1 << 30)) ]
	run -0 berth validate v
}
