# helpers.bash - shared setup for the container integration tests (bats, as root).
bats_require_minimum_version 1.5.0
# Every test gets its own BERTH_ROOT, BERTH_RUN and cgroup parent.

BERTH="${BERTH_BIN:-$BATS_TEST_DIRNAME/../../build/berth}"   # BERTH_BIN: test another build
PROBE="$BATS_TEST_DIRNAME/../../build/probe"

berth() { "$BERTH" "$@"; }

common_setup() {
	TEST_TMP=$(mktemp -d /tmp/berth-test.XXXXXX)
	chmod 755 "$TEST_TMP"
	export BERTH_ROOT="$TEST_TMP/root" BERTH_RUN="$TEST_TMP/run"
	export BERTH_CGROUP_PARENT="berth-test-$$-${BATS_TEST_NUMBER:-0}"
}

common_teardown() {
	local g
	for g in $(ls "$BERTH_ROOT/guests" 2>/dev/null); do
		"$BERTH" destroy --force "$g" >/dev/null 2>&1 || true
	done
	local d
	for d in /sys/fs/cgroup/*/"$BERTH_CGROUP_PARENT" /sys/fs/cgroup/"$BERTH_CGROUP_PARENT"; do
		[ -d "$d" ] && rmdir "$d"/* "$d" 2>/dev/null
	done
	rm -rf "$TEST_TMP"
}

# busybox template "busybox" in this test's store
need_busybox() {
	"$BERTH" template build busybox >/dev/null
}

# wait_until SECONDS CMD...: retry CMD until it succeeds
wait_until() {
	local deadline=$((SECONDS + $1)); shift
	until "$@"; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.1
	done
}

json_field() { # json_field NAME FIELD
	"$BERTH" status "$1" --json | python3 -c "import json,sys; v=json.load(sys.stdin)$2; print('' if v is None else v)"
}

uid_base() { json_field "$1" "['uid_base']"; }

# Nothing of guest $1 (uid base $2) may remain on the host.
assert_no_leftovers() {
	local name=$1 base=$2 end=$(($2 + 65536))
	local procs
	procs=$(ps -eo uid=,pid=,comm= | awk -v b="$base" -v e="$end" '$1 >= b && $1 < e')
	[ -z "$procs" ] || { echo "processes left: $procs"; return 1; }
	local cg
	for cg in /sys/fs/cgroup/*/"$BERTH_CGROUP_PARENT/$name" /sys/fs/cgroup/"$BERTH_CGROUP_PARENT/$name"; do
		[ ! -e "$cg" ] || { echo "cgroup left: $cg"; return 1; }
	done
	! grep -q "guests/$name/" /proc/self/mountinfo || { echo "mount left"; return 1; }
	[ ! -e "$BERTH_RUN/$name" ] || { echo "runtime dir left"; return 1; }
	if [ -e "$BERTH_ROOT/guests/$name/disk.img" ]; then
		[ -z "$(losetup -j "$BERTH_ROOT/guests/$name/disk.img")" ] || { echo "loop device left"; return 1; }
	fi
	return 0
}
