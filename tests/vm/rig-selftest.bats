#!/usr/bin/env bats
# tests/vm/rig-selftest.bats - tests of tests/vm/rig itself (bats, on the host, as root).
#
# Each mode the rig can use on this host is tested: "qemu" (the emulated guest)
# when its packages and a kernel are installed, "direct" when this host's
# /dev/kvm works. setup_file boots each mode once with a probe that checks many
# things and exits 7, then once with `echo hello`; the tests read what those
# runs left behind. RIG_SELFTEST_MODES="qemu direct" picks the modes instead.
# Inside the rig (tests/vm/rig -- bats tests/vm) it skips itself: run it on the host.
bats_require_minimum_version 1.5.0

RIG_BIN="$BATS_TEST_DIRNAME/rig"
TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd -P)

# Runs inside the rig as `bash -c "$PROBE"`; prints key=value lines.
# shellcheck disable=SC2016
PROBE='
echo "to-stderr" >&2
echo "pwd=$PWD"
/usr/bin/python3 - <<"EOF"
import ctypes, fcntl, mmap, os, struct
fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
print("kvm_api=%d" % fcntl.ioctl(fd, 0xAE00))          # KVM_GET_API_VERSION
vm = fcntl.ioctl(fd, 0xAE01, 0)                         # KVM_CREATE_VM
print("kvm_vm=ok")
# 64 KiB at 0xffff0000; the reset vector 0xfffffff0 (CS base 0xffff0000, IP 0xfff0):
# mov dx,0x3f8; mov al,0x4b (K); out dx,al; hlt
mem = mmap.mmap(-1, 0x10000)
mem[0xfff0:0xfff7] = bytes([0xBA, 0xF8, 0x03, 0xB0, 0x4B, 0xEE, 0xF4])
addr = ctypes.addressof(ctypes.c_char.from_buffer(mem))
fcntl.ioctl(vm, 0x4020AE46, struct.pack("IIQQQ", 0, 0, 0xFFFF0000, 0x10000, addr))
vcpu = fcntl.ioctl(vm, 0xAE41, 0)                       # KVM_CREATE_VCPU
print("kvm_vcpu=ok")
run = mmap.mmap(vcpu, fcntl.ioctl(fd, 0xAE04), mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
seen = []
for _ in range(4):
    fcntl.ioctl(vcpu, 0xAE80, 0)                        # KVM_RUN
    reason = struct.unpack_from("I", run, 8)[0]
    if reason == 2:                                     # KVM_EXIT_IO
        _, size, port, count, off = struct.unpack_from("BBHIQ", run, 32)
        seen.append("io:%x:%s" % (port, run[off:off + size].decode()))
    elif reason == 5:                                   # KVM_EXIT_HLT
        seen.append("hlt")
        break
    else:
        seen.append("exit%d" % reason)
        break
print("kvm_run=%s" % ",".join(seen))
EOF
echo "cgroup_fs=$(stat -fc %T /sys/fs/cgroup)"
echo "cgroup_controllers=$(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null)"
echo "cgroup_self=$(cat /proc/self/cgroup)"
mkdir -p "$RIGTEST_TOP/build" && echo "$BERTH_RIGTEST_TOKEN" >"$RIGTEST_TOP/build/rig-selftest.$BERTH_RIGTEST_TOKEN" &&
	echo "checkout_write=ok"
for d in /tmp /var/tmp /run; do
	echo x >"$d/rig-selftest" && [ "$(cat "$d/rig-selftest")" = x ] && rm "$d/rig-selftest" && echo "write_$d=ok"
done
if [ "$RIG_INSIDE" = qemu ]; then
	echo x >"/etc/rig-selftest.$BERTH_RIGTEST_TOKEN" && echo "root_write=ok"
	# a checkout under /tmp is shared at its path: its top directory is expected
	top=${RIGTEST_TOP#/tmp/}; top=${top%%/*}
	echo "tmp_empty=$(ls -A /tmp | grep -vxF -- "${top:-/}" | wc -l)"
fi
printf "berth_var=%q\n" "$BERTH_RIGTEST"
printf "bats_var=%q\n" "${BATS_RIGTEST-unset}"
printf "extra_var=%q\n" "${RIGTEST_EXTRA-unset}"
printf "hidden_var=%q\n" "${RIGTEST_HIDDEN-unset}"
printf "bats_internal=%q\n" "${BATS_TEST_TMPDIR-unset}"
echo "home=$HOME term=$TERM user=$USER"
echo "path=$PATH"
echo "stdin=$(readlink /proc/self/fd/0)"
echo "uid=$(id -u)"
echo "inside=$RIG_INSIDE"
exit 7
'

selftest_modes() {
	if [ -n "${RIG_SELFTEST_MODES:-}" ]; then
		echo "$RIG_SELFTEST_MODES"
		return
	fi
	local m
	for m in qemu direct; do
		if RIG_MODE=$m "$RIG_BIN" --check >/dev/null 2>&1; then printf '%s ' "$m"; fi
	done
	return 0
}

setup_file() {
	MODES=
	if [ "$(id -u)" = 0 ] && [ -z "${RIG_INSIDE:-}" ]; then
		MODES=$(selftest_modes)
	fi
	export MODES
	[ -n "$MODES" ] || return 0
	local m rc d=$BATS_FILE_TMPDIR
	export BERTH_RIGTEST_TOKEN=$$.$RANDOM
	cd "$TOP" || return 1
	for m in $MODES; do
		rc=0
		RIG_MODE=$m \
			BERTH_RIGTEST=$'two words, \'quotes\' "and"\na newline' \
			BATS_RIGTEST=from-bats RIGTEST_EXTRA=extra RIGTEST_HIDDEN=hidden \
			RIGTEST_TOP=$TOP RIG_ENV="RIGTEST_EXTRA,RIGTEST_TOP" \
			"$RIG_BIN" -- bash -c "$PROBE" >"$d/$m.out" 2>"$d/$m.err" || rc=$?
		echo $rc >"$d/$m.rc"
		rc=0
		SECONDS=0
		RIG_MODE=$m "$RIG_BIN" -- echo hello >"$d/$m.hello" 2>"$d/$m.hello.err" || rc=$?
		echo "$rc $SECONDS" >"$d/$m.hello.rc"
	done
}

teardown_file() {
	if [ -n "${BERTH_RIGTEST_TOKEN:-}" ]; then
		rm -f "$TOP/build/rig-selftest.$BERTH_RIGTEST_TOKEN"
	fi
}

setup() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	[ -z "${RIG_INSIDE:-}" ] || skip "runs on the host, not inside the rig"
	[ -n "$MODES" ] || skip "the rig cannot run here: $(RIG_MODE=qemu "$RIG_BIN" --check 2>&1)"
}

# probe_value MODE KEY: the value the probe printed for KEY
probe_value() {
	local line
	while IFS= read -r line; do
		[[ $line == "$2="* ]] && printf '%s\n' "${line#"$2="}"
	done <"$BATS_FILE_TMPDIR/$1.out"
	return 0
}

# expect MODE KEY VALUE
expect() {
	local got
	got=$(probe_value "$1" "$2")
	[ "$got" = "$3" ] || {
		echo "$1 mode: $2 is '$got', expected '$3'"
		echo "--- stdout:"; cat "$BATS_FILE_TMPDIR/$1.out"
		echo "--- stderr:"; cat "$BATS_FILE_TMPDIR/$1.err"
		return 1
	}
}

@test "rig: no command, a bad RIG_MODE or a missing kernel exit 125 with a message" {
	run -125 "$RIG_BIN"
	[[ $output == *"no command given"* ]]
	RIG_MODE=bogus run -125 "$RIG_BIN" true
	[[ $output == *"RIG_MODE=bogus"* ]]
	RIG_MODE=qemu RIG_KERNEL=0.0-none run -125 "$RIG_BIN" -- true
	[[ $output == *"RIG_KERNEL=0.0-none: no such kernel"* ]]
}

@test "rig: CMD's exit status is the rig's (exit 7 and true)" {
	local m
	for m in $MODES; do
		[ "$(cat "$BATS_FILE_TMPDIR/$m.rc")" = 7 ] || {
			echo "$m mode: probe exited $(cat "$BATS_FILE_TMPDIR/$m.rc"), expected 7"
			cat "$BATS_FILE_TMPDIR/$m.err"
			return 1
		}
		read -r rc secs <"$BATS_FILE_TMPDIR/$m.hello.rc"
		echo "# $m mode: 'rig -- echo hello' took ${secs}s" >&3
		[ "$rc" = 0 ] || { echo "$m mode: echo hello exited $rc"; cat "$BATS_FILE_TMPDIR/$m.hello.err"; return 1; }
	done
}

@test "rig: stdout and stderr pass through, separately and clean" {
	local m
	for m in $MODES; do
		[ "$(cat "$BATS_FILE_TMPDIR/$m.hello")" = hello ]
		[ ! -s "$BATS_FILE_TMPDIR/$m.hello.err" ]
		grep -qx to-stderr "$BATS_FILE_TMPDIR/$m.err"
		! grep -q to-stderr "$BATS_FILE_TMPDIR/$m.out"
		expect "$m" stdin /dev/null
	done
}

@test "rig: /dev/kvm works inside (API 12, a VM with a vCPU runs out and hlt)" {
	local m
	for m in $MODES; do
		expect "$m" kvm_api 12
		expect "$m" kvm_vm ok
		expect "$m" kvm_vcpu ok
		expect "$m" kvm_run io:3f8:K,hlt
		expect "$m" uid 0
	done
}

@test "rig: the checkout is visible at its path and writable; /tmp /var/tmp /run too" {
	local m
	for m in $MODES; do
		expect "$m" pwd "$TOP"
		expect "$m" checkout_write ok
		[ "$(cat "$TOP/build/rig-selftest.$BERTH_RIGTEST_TOKEN")" = "$BERTH_RIGTEST_TOKEN" ]
		expect "$m" write_/tmp ok
		expect "$m" write_/var/tmp ok
		expect "$m" write_/run ok
	done
}

@test "rig (qemu): writes outside the checkout stay in the guest; /tmp starts empty" {
	[[ " $MODES " == *" qemu "* ]] || skip "qemu mode not available here"
	expect qemu root_write ok
	[ ! -e "/etc/rig-selftest.$BERTH_RIGTEST_TOKEN" ]
	expect qemu tmp_empty 0
}

@test "rig (qemu): /sys/fs/cgroup is cgroup2 with memory and pids; CMD in /rig.scope" {
	[[ " $MODES " == *" qemu "* ]] || skip "qemu mode not available here"
	expect qemu cgroup_fs cgroup2fs
	local c
	c=$(probe_value qemu cgroup_controllers)
	[[ " $c " == *" memory "* ]] && [[ " $c " == *" pids "* ]] || { echo "controllers: $c"; return 1; }
	expect qemu cgroup_self 0::/rig.scope
}

@test "rig: CMD's environment is clean plus BERTH_*, BATS_* and RIG_ENV" {
	local m want
	want=$(printf '%q' $'two words, \'quotes\' "and"\na newline')
	for m in $MODES; do
		expect "$m" berth_var "$want"
		expect "$m" bats_var from-bats
		expect "$m" extra_var extra
		expect "$m" hidden_var unset
		expect "$m" bats_internal unset
		expect "$m" home "/root term=dumb user=root"
		expect "$m" path /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
		expect "$m" inside "$m"
	done
}

@test "rig: RIG_TIMEOUT kills CMD and exits 124" {
	local m
	for m in $MODES; do
		SECONDS=0
		RIG_MODE=$m RIG_TIMEOUT=2 run -124 "$RIG_BIN" -- sleep 600
		[[ $output == *"timed out after 2s"* ]]
		[ $SECONDS -lt 30 ]
	done
}
