#!/usr/bin/env bats
# debian.bats - a `--type vm` guest made from the debian template
# (debootstrap minbase + systemd + udev): the cloud kernel and berth's
# initramfs boot it to systemd's "running" or "degraded", berth's agent
# (started by berth init before systemd, living on in init.scope) serves
# exec, and `berth stop` powers it off through systemd (the ACPI power
# button: logind where it runs and udev tagged the key, else the agent
# sends SIGRTMIN+4 to PID 1), with the disk cleanly unmounted; the
# hostname comes from the guest config (berth.hostname=, set by berth init).
#
# The rig has no network for debootstrap, so the template is built on the
# host: BERTH_DEBIAN_TEMPLATE_ROOT names a store holding a `debian` template
# (tests/run builds one unless BERTH_SKIP_DEBIAN is set and shares it with
# the rig through RIG_RW). Without it these tests skip. By hand:
#   BERTH_ROOT=/var/tmp/deb/root build/berth template build debian
#   RIG_MODE=qemu RIG_RW=/var/tmp/deb BERTH_DEBIAN_TEMPLATE_ROOT=/var/tmp/deb/root \
#       tests/vm/rig -- bats tests/vm/debian.bats
# The tests share one guest and run in order. Nested in the rig (TCG):
# create ~1-2 min (mkfs.ext4 -d reads the template over 9p), each boot to
# "running" ~50 s, stop ~5 s.
bats_require_minimum_version 1.5.0
load initramfs

# seconds a boot may take to reach running/degraded, and a stop
BOOT_WAIT=${BERTH_DEBIAN_BOOT_WAIT:-240}
STOP_WAIT=120

setup_file() {
	TEST_TMP=$(mktemp -d /tmp/berth-debvm.XXXXXX)
	chmod 755 "$TEST_TMP"
	export TEST_TMP BERTH_ROOT="$TEST_TMP/root" BERTH_RUN="$TEST_TMP/run"
	mkdir -p "$BERTH_ROOT/templates"
	local src=${BERTH_DEBIAN_TEMPLATE_ROOT:-}/templates/debian
	# the template is only read (mkfs.ext4 -d): a link, not a 200 MB copy
	if [ -n "${BERTH_DEBIAN_TEMPLATE_ROOT:-}" ] && [ -f "$src/template.json" ]; then
		ln -s "$src" "$BERTH_ROOT/templates/debian"
	fi
}

teardown_file() { guest_store_teardown; }

need_debian() {
	[ -n "${BERTH_DEBIAN_TEMPLATE_ROOT:-}" ] ||
		skip "no debian template: set BERTH_DEBIAN_TEMPLATE_ROOT to a store with one (tests/run builds it unless BERTH_SKIP_DEBIAN is set; the rig cannot run debootstrap)"
	[ -e "$BERTH_ROOT/templates/debian" ] ||
		skip "no debian template in $BERTH_DEBIAN_TEMPLATE_ROOT/templates/debian (build it with BERTH_ROOT=$BERTH_DEBIAN_TEMPLATE_ROOT berth template build debian)"
}

need_guest() {
	[ -e "$BERTH_ROOT/guests/deb1" ] || skip "the create test did not make deb1"
}

# state NAME: systemctl is-system-running inside (empty while exec cannot
# reach the agent yet; never fails: it is polled under bats' errexit)
state() { "$BERTH" exec "$1" -- systemctl is-system-running 2>/dev/null || true; }

# wait_booted NAME: until systemd says running or degraded (BOOT_WAIT s);
# on timeout print what systemd still waits for
wait_booted() {
	local deadline=$((SECONDS + BOOT_WAIT)) s
	while :; do
		s=$(state "$1")
		case $s in running | degraded) return 0 ;; esac
		if [ $SECONDS -ge $deadline ]; then
			echo "not booted after $BOOT_WAIT s: state '$s'"
			"$BERTH" exec "$1" -- systemctl list-jobs --no-pager || true
			tail -30 "$BERTH_ROOT/guests/$1/console.log"
			return 1
		fi
		sleep 2
	done
}

# gone PID: no such process (or only a zombie left for its reaper)
gone() { [ ! -e "/proc/$1" ] || grep -q '^[0-9]* (.*) Z' "/proc/$1/stat"; }

# label_procs UID: processes running as the guest's label (its VMM)
label_procs() { ps -eo uid=,pid=,comm= | awk -v u="$1" '$1 == u'; }

# stop_clean NAME: berth stop within STOP_WAIT, powered off by the guest
# (not killed), the root file system unmounted cleanly, nothing left
stop_clean() {
	local name=$1 pid uid t0 img=$BERTH_ROOT/guests/$1/disk.img
	pid=$(field "$name" "['pid']")
	uid=$(field "$name" "['uid_base']")
	[ -n "$pid" ]
	[ -n "$(label_procs "$uid")" ]
	t0=$SECONDS
	berth stop --timeout "$STOP_WAIT" "$name"
	echo "stop took $((SECONDS - t0)) s"
	[ $((SECONDS - t0)) -lt "$STOP_WAIT" ]
	[ "$(field "$name" "['state']")" = stopped ]
	[ "$(field "$name" "['last_exit']['reason']")" = poweroff ]
	gone "$pid"
	[ -z "$(label_procs "$uid")" ]
	[ ! -e "$BERTH_RUN/$name" ]
	# systemd-shutdown remounted / read-only: the journal needs no replay
	run env PATH="$PATH:/usr/sbin:/sbin" dumpe2fs -h "$img"
	[ "$status" -eq 0 ]
	grep -Eq '^Filesystem state: +clean$' <<<"$output"
	[[ "$output" != *needs_recovery* ]]
}

@test "vm debian: create builds the disk from the debian template" {
	need_debian
	run berth template list --json
	[[ "$output" == *'"debian"'* ]]
	berth create deb1 --type vm --template debian --memory 512M --disk 1G --hostname deb-one
	[ "$(field deb1 "['type']")" = vm ]
	[ "$(field deb1 "['init']")" = systemd ]
	[ "$(stat -c %a "$BERTH_ROOT/guests/deb1/disk.img")" = 600 ]
}

@test "vm debian: systemd boots to running or degraded; exec works" {
	need_kvm
	need_debian
	need_guest
	berth start deb1
	t0=$SECONDS
	wait_booted deb1
	echo "booted in $((SECONDS - t0)) s"
	run berth exec deb1 -- cat /proc/1/comm
	[ "$status" -eq 0 ]
	[ "$output" = systemd ]
	# --wait returns at once now, with the same answer
	run berth exec deb1 -- systemctl is-system-running --wait
	[[ "$output" == running || "$output" == degraded ]] ||
		{ berth exec deb1 -- systemctl --failed --no-pager; false; }
	if [ "$output" = degraded ]; then # say why, as a TAP comment
		berth exec deb1 -- systemctl --failed --no-pager --plain | sed 's/^/# /' >&3 || true
	fi
	# berth.hostname= on the kernel command line: berth init sets it and
	# writes /etc/hostname, so systemd keeps it
	run berth exec deb1 -- hostname
	[ "$output" = deb-one ]
	run berth exec deb1 -- cat /etc/hostname
	[ "$output" = deb-one ]
	# the guest's own kernel, and udev found the devices (no .device waits)
	run berth exec deb1 -- uname -r
	[ "$output" = "$(cloud_kver)" ]
	run berth exec deb1 -- systemctl is-active systemd-udevd serial-getty@ttyS0
	[ "$status" -eq 0 ]
	# exec: exit status, stdout and stderr, stdin
	run berth exec deb1 -- sh -c 'echo out; echo err >&2; exit 7'
	[ "$status" -eq 7 ]
	[[ "$output" == *out* && "$output" == *err* ]]
	run bash -c "echo piped | '$BERTH' exec deb1 -- cat"
	[ "$status" -eq 0 ]
	[ "$output" = piped ]
	# the agent outlived systemd's start: it sits in init.scope, not killed
	run berth exec deb1 -- cat /proc/self/cgroup
	[ "$output" = "0::/init.scope" ]
	# a machine-id of its own, written to the disk at first boot
	run berth exec deb1 -- cat /etc/machine-id
	[[ "$output" =~ ^[0-9a-f]{32}$ ]]
	echo "$output" >"$TEST_TMP/machine-id"
}

@test "vm debian: stop powers off through systemd within the timeout; nothing left" {
	need_kvm
	need_guest
	[ "$(field deb1 "['state']")" = running ] || skip "deb1 did not boot"
	berth exec deb1 -- sh -c 'echo kept > /root/kept'   # no sync: shutdown must flush it
	stop_clean deb1
	run berth exec deb1 -- true
	[ "$status" -eq 3 ]
}

@test "vm debian: data and machine-id survive a second boot; stop, destroy leave nothing" {
	need_kvm
	need_guest
	[ -f "$TEST_TMP/machine-id" ] || skip "the boot test did not finish"
	berth start deb1
	wait_booted deb1
	run berth exec deb1 -- cat /root/kept
	[ "$output" = kept ]
	run berth exec deb1 -- cat /etc/machine-id
	[ "$output" = "$(cat "$TEST_TMP/machine-id")" ]
	stop_clean deb1
	berth destroy deb1
	[ ! -e "$BERTH_ROOT/guests/deb1" ]
	[ -L "$BERTH_ROOT/templates/debian" ]
	[ -f "$BERTH_DEBIAN_TEMPLATE_ROOT/templates/debian/template.json" ]
}
