#!/usr/bin/env bats
# A debootstrap template with systemd boots as a system container.
# Slow (debootstrap, ~1-2 min): BERTH_SKIP_DEBIAN=1 skips it.
load helpers

setup_file() {
	# not `skip` here: setup() skips each test (bats reports a skipped
	# setup_file as a failure of the file)
	if [ -n "${BERTH_SKIP_DEBIAN:-}" ]; then return 0; fi
	export DEB_TMP=$(mktemp -d /tmp/berth-deb.XXXXXX)
	chmod 755 "$DEB_TMP"
	export BERTH_ROOT="$DEB_TMP/root" BERTH_RUN="$DEB_TMP/run"
	export BERTH_CGROUP_PARENT="berth-test-deb-$$"
	"$BERTH" template build debian >/dev/null
}

teardown_file() {
	[ -n "${DEB_TMP:-}" ] || return 0
	local g
	for g in $(ls "$BERTH_ROOT/guests" 2>/dev/null); do
		"$BERTH" destroy --force "$g" >/dev/null 2>&1 || true
	done
	rmdir /sys/fs/cgroup/*/"$BERTH_CGROUP_PARENT" /sys/fs/cgroup/"$BERTH_CGROUP_PARENT" 2>/dev/null || true
	rm -rf "$DEB_TMP"
}

setup() { [ -z "${BERTH_SKIP_DEBIAN:-}" ] || skip "BERTH_SKIP_DEBIAN is set"; }

system_state() { "$BERTH" exec "$1" -- systemctl is-system-running 2>/dev/null; }
booted() { case "$(system_state "$1")" in running|degraded) return 0 ;; *) return 1 ;; esac; }

@test "systemd from a debootstrap template boots to running or degraded" {
	[ "$("$BERTH" template list --json | python3 -c 'import json,sys; print([t["init"] for t in json.load(sys.stdin) if t["name"] == "debian"][0])')" = systemd ]
	berth create deb1 --template debian --memory 512M --pids 500 --hostname deb1
	[ "$(json_field deb1 "['init']")" = systemd ]
	berth start deb1
	wait_until 90 booted deb1 || { system_state deb1; berth exec deb1 -- systemctl --failed; false; }
	run berth exec deb1 -- cat /proc/1/comm
	[ "$output" = systemd ]
	run berth exec deb1 -- hostname
	[ "$output" = deb1 ]
	# systemd manages its own delegated cgroup tree inside
	run berth exec deb1 -- cat /proc/self/cgroup
	[[ "$output" == *"0::/"* ]]
}

@test "systemd stops cleanly on SIGRTMIN+3 within the timeout" {
	berth create deb2 --template debian
	berth start deb2
	wait_until 90 booted deb2
	base=$(uid_base deb2)
	berth stop --timeout 60 deb2
	[ "$(json_field deb2 "['last_exit']['reason']")" = stopped ]
	assert_no_leftovers deb2 "$base"
}

@test "a debian container with a disk quota boots and keeps data" {
	berth create deb3 --template debian --disk 2G
	berth start deb3
	wait_until 90 booted deb3
	berth exec deb3 -- sh -c 'echo kept > /root/k'
	berth stop --timeout 60 deb3
	berth start deb3
	run berth exec deb3 -- cat /root/k
	[ "$output" = kept ]
}
