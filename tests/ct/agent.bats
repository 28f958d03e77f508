#!/usr/bin/env bats
# The VM guest agent, run on the host over a unix socket (`berth agent
# --unix`), driven by `berth agent-exec`: the same client code `berth exec`
# uses for VMs (src/cli/agent_client.c). Also the VM initramfs builder.
load helpers

setup() {
	TEST_TMP=$(mktemp -d /tmp/berth-agent.XXXXXX)
	SOCK=$TEST_TMP/agent.sock
	"$BERTH" agent --unix "$SOCK" 3>&- &
	AGENT_PID=$!
	wait_until 5 test -S "$SOCK"
}

teardown() {
	kill "$AGENT_PID" 2>/dev/null || true
	wait "$AGENT_PID" 2>/dev/null || true
	rm -rf "$TEST_TMP"
}

ax() { "$BERTH" agent-exec --unix "$SOCK" "$@"; }

# raw_session EXPR: send the bytes of a python expression (frame(TYPE, PAYLOAD)
# builds one frame) and print repr() of all that comes back until EOF
raw_session() {
	python3 - "$SOCK" "$1" <<'EOF'
import socket, struct, sys
def frame(t, p=b''):
    return bytes([t]) + struct.pack('<I', len(p)) + p
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(eval(sys.argv[2]))
s.settimeout(5)
data = b''
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
print(repr(data))
EOF
}

@test "exit codes" {
	run ax -- true
	[ "$status" -eq 0 ]
	run ax -- false
	[ "$status" -eq 1 ]
	run ax -- sh -c 'exit 7'
	[ "$status" -eq 7 ]
	run ax -- sh -c 'kill -9 $$'
	[ "$status" -eq 137 ]
}

@test "stdout and stderr stay separate" {
	ax -- sh -c 'echo out; echo err >&2' >"$TEST_TMP/o" 2>"$TEST_TMP/e"
	[ "$(cat "$TEST_TMP/o")" = out ]
	[ "$(cat "$TEST_TMP/e")" = err ]
}

@test "stdin is streamed and its end closes the command's stdin" {
	run bash -c "printf 'a\nb\n' | '$BERTH' agent-exec --unix '$SOCK' -- cat"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'a\nb')" ]
	# more than any buffer, both ways, intact
	head -c 20000000 /dev/urandom >"$TEST_TMP/big"
	sum=$(ax -- sha256sum <"$TEST_TMP/big" | cut -d' ' -f1)
	[ "$sum" = "$(sha256sum <"$TEST_TMP/big" | cut -d' ' -f1)" ]
	n=$(ax -- cat "$TEST_TMP/big" | wc -c)
	[ "$n" -eq 20000000 ]
}

@test "a missing command gives 127 and a message naming it" {
	run -127 ax -- /no/such-command arg
	[ "$status" -eq 127 ]
	[[ "$output" == *"/no/such-command"*"No such file"* ]]
	run -127 ax -- nosuchcommand-xyz
	[ "$status" -eq 127 ]
	[[ "$output" == *"nosuchcommand-xyz"* ]]
}

@test "environment and defaults" {
	run ax -e FOO=bar -e HOME=/tmp -- sh -c 'echo "$FOO $HOME $PATH"; pwd'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "bar /tmp /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" ]
	[ "${lines[1]}" = / ]
	run ax -e BAD -- true
	[ "$status" -eq 2 ]
}

@test "-t gives a tty with the caller's window size" {
	run ax -t -- tty
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^/dev/pts/[0-9]+ ]]
	run ax -- sh -c 'tty; true'
	[[ "$output" == "not a tty"* ]]
	# without a terminal of ours: 24x80
	run ax -t -- stty size
	[ "$(echo "$output" | tr -d '\r')" = "24 80" ]
	# a terminal (script) of 33x101; stdin elsewhere, so that what script
	# types at the end of its input is not echoed into the output
	out=$(script -qec "stty rows 33 cols 101; '$BERTH' agent-exec --unix '$SOCK' -t -- stty size </dev/null" \
		/dev/null </dev/null)
	[ "$(echo "$out" | tr -d '\r')" = "33 101" ]
	# the tty's exit code comes through too
	run ax -t -- sh -c 'exit 5'
	[ "$status" -eq 5 ]
}

@test "SIGINT reaches the command; SIGTERM hangs up on it" {
	# (bats starts background jobs with SIGINT ignored; a client started so
	# rightly ignores it, so give it the default disposition)
	env --default-signal=INT "$BERTH" agent-exec --unix "$SOCK" -- \
		sh -c 'trap "echo got-int; exit 3" INT; sleep 30 & wait' >"$TEST_TMP/o" 3>&- &
	client=$!
	sleep 0.5
	kill -INT "$client"
	st=0
	wait "$client" || st=$?
	[ "$st" -eq 3 ]
	[ "$(cat "$TEST_TMP/o")" = got-int ]

	"$BERTH" agent-exec --unix "$SOCK" -- sh -c "echo \$\$ >$TEST_TMP/pid; exec sleep 30" 3>&- &
	client=$!
	wait_until 5 test -s "$TEST_TMP/pid"
	kill -TERM "$client"
	st=0
	wait "$client" || st=$?
	[ "$st" -eq 143 ]
	# the agent hangs up on the command when its host goes away
	wait_until 5 bash -c "! kill -0 $(cat "$TEST_TMP/pid") 2>/dev/null"
}

@test "a vanished client takes its command with it" {
	"$BERTH" agent-exec --unix "$SOCK" -- sh -c "echo \$\$ >$TEST_TMP/pid; exec sleep 60" 3>&- &
	client=$!
	wait_until 5 test -s "$TEST_TMP/pid"
	kill -9 "$client"
	wait_until 5 bash -c "! kill -0 $(cat "$TEST_TMP/pid") 2>/dev/null"
}

@test "background processes do not hold the session" {
	run timeout 10 "$BERTH" agent-exec --unix "$SOCK" -- sh -c 'sleep 30 & echo started'
	[ "$status" -eq 0 ]
	[ "$output" = started ]
}

@test "20 sequential execs leave no processes or fds in the agent" {
	ax -- true
	fds=$(ls /proc/"$AGENT_PID"/fd | wc -l)
	for i in $(seq 20); do
		ax -- sh -c 'echo hi; exit 0' >/dev/null
	done
	wait_until 5 bash -c "[ -z \"\$(ps --ppid $AGENT_PID -o pid=)\" ]"
	[ "$(ls /proc/"$AGENT_PID"/fd | wc -l)" -eq "$fds" ]
	# no zombies anywhere below it either
	[ -z "$(ps -eo ppid=,stat= | awk -v p="$AGENT_PID" '$1 == p && $2 ~ /Z/')" ]
}

@test "hostile frames are dropped and the agent keeps serving" {
	# a length above the limit: the connection is closed, nothing is answered
	run raw_session "bytes([65]) + struct.pack('<I', 0xffffffff)"
	[ "$output" = "b''" ]
	# an unknown type
	run raw_session "frame(200, b'x')"
	[ "$output" = "b''" ]
	# a RESIZE of the wrong size as the first frame
	run raw_session "frame(3, b'abc')"
	[ "$output" = "b''" ]
	# EXEC that is not what it should be: an ERROR frame (68) saying why
	run raw_session "frame(1, b'{\"argv\":[1]}')"
	[[ "$output" == "b'D"*"bad request"*argv* ]]
	run raw_session "frame(1, b'{\"argv\":[' + b'\"a\",' * 300 + b'\"a\"]}')"
	[[ "$output" == *"bad request"* ]]
	# PING -> PONG (69); POWEROFF is refused off a VM (ERROR)
	run raw_session "frame(5)"
	[ "$output" = "b'E\\x00\\x00\\x00\\x00'" ]
	run raw_session "frame(6)"
	[[ "$output" == "b"?"D"*"only"*vsock* ]]
	# a frame from the wrong side in the middle of a session ends it
	run raw_session "frame(1, b'{\"argv\":[\"sleep\",\"30\"]}') + frame(67, b'\\0\\0\\0\\0')"
	[[ "$output" == "b'@"* ]]   # STARTED (64), then the connection ends
	run ax -- echo still-serving
	[ "$output" = still-serving ]
}

@test "initramfs: berth as /init, the virtio modules in load order" {
	rel=$(ls /lib/modules 2>/dev/null | grep -- '-cloud-amd64$' | sort -V | tail -1)
	[ -n "$rel" ] || skip "no -cloud-amd64 kernel modules on this host"
	run "$BERTH" initramfs --kernel-release "$rel" -o "$TEST_TMP/ir.cpio"
	[ "$status" -eq 0 ]
	list=$(cpio -t <"$TEST_TMP/ir.cpio" 2>/dev/null)
	for f in init dev/console newroot lib/berth/modules; do
		grep -qx "$f" <<<"$list"
	done
	grep -q "^lib/modules/$rel/kernel/drivers/block/virtio_blk.ko$" <<<"$list"
	grep -q "/vmw_vsock_virtio_transport.ko$" <<<"$list"
	grep -q "/evdev.ko$" <<<"$list"
	[ -z "$(sort <<<"$list" | uniq -d)" ]
	cpio -tv <"$TEST_TMP/ir.cpio" 2>/dev/null | grep -q '^crw------- .* 5, *1 .* dev/console$'
	cpio -tv <"$TEST_TMP/ir.cpio" 2>/dev/null | grep -q '^-rwxr-xr-x .* init$'
	# /init is this very berth; the list loads each module after its dependencies
	(cd "$TEST_TMP" && cpio -id --quiet init lib/berth/modules <ir.cpio)
	cmp "$TEST_TMP/init" "$BERTH"
	order=$(sed 's|.*/||' "$TEST_TMP/lib/berth/modules" | tr '\n' ' ')
	[[ "$order" == *"virtio_ring.ko virtio.ko virtio_mmio.ko"* ]]
	[[ "$order" == *"vsock.ko vmw_vsock_virtio_transport_common.ko vmw_vsock_virtio_transport.ko"* ]]
	# atomic: nothing else left next to it
	[ "$(ls "$TEST_TMP" | grep -c ir.cpio)" -eq 1 ]
}

@test "initramfs: ext4 and its dependencies when ext4 is a module" {
	rel=$(ls /lib/modules 2>/dev/null | grep -E -- '-amd64$' | grep -v cloud | sort -V | tail -1)
	[ -n "$rel" ] && grep -q '/ext4.ko' "/lib/modules/$rel/modules.dep" || skip "no generic kernel with ext4 as a module"
	"$BERTH" initramfs --kernel-release "$rel" -o "$TEST_TMP/ir.cpio" >/dev/null
	(cd "$TEST_TMP" && cpio -id --quiet lib/berth/modules <ir.cpio)
	order=$(sed 's|.*/||' "$TEST_TMP/lib/berth/modules" | tr '\n' ' ')
	[[ "$order" == *"jbd2.ko"*"ext4.ko"* ]]
	[[ "$order" == *"mbcache.ko"*"ext4.ko"* ]]
}

@test "initramfs: bad input" {
	run "$BERTH" initramfs --kernel-release ../.. -o "$TEST_TMP/x"
	[ "$status" -eq 2 ]
	run "$BERTH" initramfs --kernel-release no-such-kernel -o "$TEST_TMP/x"
	[ "$status" -eq 4 ]
	[[ "$output" == *"no-such-kernel"* ]]
	run "$BERTH" initramfs --binary /bin/ls -o "$TEST_TMP/x"
	[ "$status" -ne 0 ]
	[[ "$output" == *"static"* || "$output" == *"kernel modules"* ]]
	[ ! -e "$TEST_TMP/x" ]
}
