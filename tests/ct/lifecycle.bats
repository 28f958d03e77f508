#!/usr/bin/env bats
# Container lifecycle: every verb, state in status/list, data kept, no leftovers.
load helpers

setup() { common_setup; need_busybox; }
teardown() { common_teardown; }

@test "create, start, status, list, stop, destroy" {
	berth create web --template busybox --memory 128M --cpus 1 --pids 200 --hostname box1
	run berth status web --json
	[ "$status" -eq 0 ]
	[[ "$output" == *'"state":"stopped"'* ]]
	[[ "$output" == *'"type":"ct"'* ]]
	[[ "$output" == *'"pid":null'* ]]
	berth start web
	[ "$(json_field web "['state']")" = running ]
	pid=$(json_field web "['pid']")
	[ -d /proc/$pid ]
	# the guest's init is the busybox init, pid 1 inside, owned by the label uid
	base=$(uid_base web)
	[ "$(stat -c %u /proc/$pid)" = "$base" ]
	run berth exec web -- cat /proc/1/comm
	[ "$output" = init ]
	run berth exec web -- hostname
	[ "$output" = box1 ]
	run berth list
	[[ "$output" == *"web"*"running"*"$pid"* ]]
	run berth list --json
	[[ "$output" == *'"name":"web"'* ]]
	berth stop web
	[ "$(json_field web "['state']")" = stopped ]
	[ "$(json_field web "['last_exit']['reason']")" = stopped ]
	assert_no_leftovers web "$base"
	berth destroy web
	[ ! -e "$BERTH_ROOT/guests/web" ]
	run berth status web
	[ "$status" -eq 3 ]
}

@test "options may come before or after the guest name" {
	berth create --memory 64M a1 --template busybox
	berth set a1 --memory 96M
	berth set --pids 50 a1
	berth start a1
	berth set a1 --hostname renamed
	run berth exec a1 -- hostname
	[ "$output" = renamed ]
	[ "$(json_field a1 "['limits']['memory_bytes']")" = $((96 << 20)) ]
	[ "$(json_field a1 "['limits']['pids']")" = 50 ]
}

@test "files written in a container survive stop and start" {
	berth create keep --template busybox
	berth start keep
	berth exec keep -- sh -c 'echo precious > /root/data'
	berth stop keep
	berth start keep
	run berth exec keep -- cat /root/data
	[ "$output" = precious ]
	berth restart keep
	run berth exec keep -- cat /root/data
	[ "$output" = precious ]
}

@test "exec passes exit codes, stdin and stdout" {
	berth create ex --template busybox
	berth start ex
	run berth exec ex -- sh -c 'exit 42'
	[ "$status" -eq 42 ]
	run berth exec ex -- false
	[ "$status" -eq 1 ]
	run -127 berth exec ex -- /no/such/program
	[ "$status" -eq 127 ]
	run bash -c "echo piped | '$BERTH' exec ex -- cat"
	[ "$output" = piped ]
	run berth exec ex -- sh -c 'kill -9 $$'
	[ "$status" -eq 137 ]
}

@test "exec -t gives the command a terminal from the guest's devpts" {
	berth create tt --template busybox
	berth start tt
	run script -qec "'$BERTH' exec tt -t -- sh -c 'tty; test -t 0 && echo istty'" /dev/null
	[[ "$output" == *"/dev/pts/"* ]]
	[[ "$output" == *"istty"* ]]
}

@test "kill stops at once and records it" {
	berth create k --template busybox
	berth start k
	base=$(uid_base k)
	berth kill k
	[ "$(json_field k "['state']")" = stopped ]
	[ "$(json_field k "['last_exit']['reason']")" = killed ]
	assert_no_leftovers k "$base"
}

@test "a container whose init dies is recorded as stopped with its exit status" {
	berth create dies --template busybox
	berth start dies
	pid=$(json_field dies "['pid']")
	kill -9 "$pid"
	wait_until 10 bash -c "'$BERTH' status dies --json | grep -q '\"state\":\"stopped\"'"
	[ "$(json_field dies "['last_exit']['signal']")" = 9 ]
	assert_no_leftovers dies "$(uid_base dies)"
}

@test "kill -9 of the monitor takes the guest down and leaves nothing" {
	berth create orphan --template busybox --disk 64M
	berth start orphan
	base=$(uid_base orphan)
	mon=$(json_field orphan "['monitor_pid']")
	kill -9 "$mon"
	# the guest dies with its monitor (parent-death signal)
	wait_until 10 bash -c "! ps -eo uid= | awk -v b=$base '\$1 >= b && \$1 < b + 65536' | grep -q ."
	# the next command notices the dead monitor and cleans up
	[ "$(json_field orphan "['state']")" = stopped ]
	[ "$(json_field orphan "['last_exit']['reason']")" = monitor-lost ]
	assert_no_leftovers orphan "$base"
	berth start orphan
	[ "$(json_field orphan "['state']")" = running ]
}

@test "console attaches to init's console and Ctrl-] detaches" {
	berth create con --template busybox
	berth start con
	sleep 0.5
	run timeout 10 bash -c "(sleep 0.5; printf 'echo CONSOLE-\$((6*7))\n'; sleep 1; printf '\035') | '$BERTH' console con"
	[ "$status" -eq 0 ]
	[[ "$output" == *"CONSOLE-42"* ]]
	grep -q CONSOLE-42 "$BERTH_ROOT/guests/con/console.log"
	# the guest is still running after detaching
	[ "$(json_field con "['state']")" = running ]
}

@test "run: ephemeral guest, exit code of CMD, nothing left" {
	run berth run --template busybox -- sh -c 'echo inside; exit 5'
	[ "$status" -eq 5 ]
	[ "$output" = inside ]
	[ -z "$(ls "$BERTH_ROOT/guests")" ]
	run berth run --template busybox --memory 64M --pids 20 -- true
	[ "$status" -eq 0 ]
	[ -z "$(ls "$BERTH_ROOT/guests")" ]
	for cg in /sys/fs/cgroup/*/"$BERTH_CGROUP_PARENT"; do
		[ -z "$(find "$cg" -mindepth 1 -type d)" ]
	done
}

@test "two CLIs starting the same guest: exactly one wins" {
	berth create race --template busybox
	berth start race & p1=$!
	berth start race & p2=$!
	rc=0; wait $p1 || rc=$((rc + 1)); wait $p2 || rc=$((rc + 1))
	[ "$rc" -eq 1 ]
	[ "$(json_field race "['state']")" = running ]
	n=$(ps -eo uid=,comm= | awk -v b=$(uid_base race) '$1 == b && $2 == "init"' | wc -l)
	[ "$n" -eq 1 ]
}

@test "reboot inside the guest restarts it in place; poweroff stops it" {
	berth create rb --template busybox
	berth start rb
	pid1=$(json_field rb "['pid']")
	berth exec rb -- sh -c 'echo survives > /root/f; reboot -f' || true
	wait_until 10 bash -c "p=\$('$BERTH' status rb --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"pid\"])'); [ \"\$p\" != None ] && [ \"\$p\" != $pid1 ]"
	[ "$(json_field rb "['state']")" = running ]
	run berth exec rb -- cat /root/f
	[ "$output" = survives ]
	berth exec rb -- poweroff -f || true
	wait_until 10 bash -c "'$BERTH' status rb --json | grep -q '\"state\":\"stopped\"'"
	[ "$(json_field rb "['last_exit']['reason']")" = poweroff ]
	assert_no_leftovers rb "$(uid_base rb)"
}
