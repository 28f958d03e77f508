# initramfs.bash - shared by the VM test files (bats `load initramfs`):
# find a stock kernel, skip where KVM cannot run it, and build small busybox
# initramfs images with the virtio modules of that kernel.

BERTH="${BERTH_BIN:-$BATS_TEST_DIRNAME/../../build/berth}"   # BERTH_BIN: test another build
BOOT_TIMEOUT=${BERTH_VMM_BOOT_TIMEOUT:-300}
# load order: each after what it depends on (modinfo -F depends)
MODULES="virtio_ring virtio virtio_mmio virtio-rng virtio_console virtio_blk"

berth() { "$BERTH" "$@"; }

# newest_kernel GLOB: /boot/vmlinuz-GLOB, newest version
newest_kernel() {
	ls /boot/vmlinuz-$1 2>/dev/null | sort -V | tail -n 1
}

# cloud_kver: the version of the newest installed cloud kernel
cloud_kver() {
	local k
	k=$(newest_kernel '*-cloud-amd64')
	[ -n "$k" ] || return 1
	echo "${k#/boot/vmlinuz-}"
}

# find_module KVER NAME: path of NAME.ko[.xz|.zst] under /lib/modules/KVER
find_module() {
	find "/lib/modules/$1/kernel" \( -name "$2.ko" -o -name "$2.ko.xz" -o -name "$2.ko.zst" \) \
		2>/dev/null | head -n 1
}

# mkinitramfs KVER INIT-SCRIPT OUT: busybox, the virtio modules of kernel
# KVER and those in $EXTRA_MODULES (decompressed: busybox insmod takes plain
# .ko), the files in $EXTRA_FILES as /bin/NAME, INIT as /init
mkinitramfs() {
	local kver=$1 out=$3 d m f a
	d=$(mktemp -d "$BATS_FILE_TMPDIR/initramfs.XXXX")
	mkdir -p "$d/bin" "$d/proc" "$d/sys" "$d/dev" "$d/lib/modules"
	cp /bin/busybox "$d/bin/busybox"
	for a in sh mount insmod cat echo head od tr ls poweroff reboot sleep dd sync tty cut grep \
		nproc; do
		ln -sf busybox "$d/bin/$a"
	done
	for m in $MODULES ${EXTRA_MODULES:-}; do
		f=$(find_module "$kver" "$m")
		[ -n "$f" ] || return 1
		case $f in
		*.xz) xz -dc "$f" >"$d/lib/modules/$m.ko" ;;
		*.zst) zstd -qdc "$f" >"$d/lib/modules/$m.ko" ;;
		*) cp "$f" "$d/lib/modules/$m.ko" ;;
		esac
	done
	for f in ${EXTRA_FILES:-}; do
		cp "$f" "$d/bin/"
	done
	printf '%s\n' "$2" >"$d/init"
	chmod 755 "$d/init"
	(cd "$d" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$out"
}

# the start every init shares: file systems and the modules, in order
INIT_HEAD='#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in '$MODULES'; do insmod /lib/modules/$m.ko || echo "insmod $m failed"; done'

# need_kvm_kernel [cloud|generic]: skip unless this host can run that stock
# kernel under KVM; sets KERNEL
need_kvm_kernel() {
	local k=${1:-cloud}
	[ -c /dev/kvm ] || skip "no /dev/kvm: run this file through tests/vm/rig"
	if [ -d /sys/module/kvm_pvm ] && [ ! -d /sys/module/kvm_intel ] && [ ! -d /sys/module/kvm_amd ]; then
		skip "/dev/kvm here is kvm-pvm (runs only PVM guest kernels): use RIG_MODE=qemu tests/vm/rig"
	fi
	if [ "$k" = cloud ]; then
		KERNEL=$(newest_kernel '*-cloud-amd64')
		[ -n "$KERNEL" ] || skip "no /boot/vmlinuz-*cloud-amd64 (apt-get install linux-image-cloud-amd64)"
	else
		KERNEL=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | grep -v cloud | sort -V | tail -n 1)
		[ -n "$KERNEL" ] || skip "no generic /boot/vmlinuz-*-amd64 (apt-get install linux-image-amd64)"
	fi
}

need_kvm() { need_kvm_kernel cloud; }

# guest_store_setup TAG: a scratch store with the busybox template, for the
# files that create `--type vm` guests (call from setup_file)
guest_store_setup() {
	TEST_TMP=$(mktemp -d "/tmp/berth-$1.XXXXXX")
	chmod 755 "$TEST_TMP"
	export TEST_TMP BERTH_ROOT="$TEST_TMP/root" BERTH_RUN="$TEST_TMP/run"
	export BERTH_CGROUP_PARENT="berth-$1-$$"
	if [ -x /bin/busybox ]; then
		"$BERTH" template build busybox >/dev/null
	fi
}

# guest_store_teardown: destroy every guest of the scratch store, remove it
guest_store_teardown() {
	local g
	for g in $(ls "$BERTH_ROOT/guests" 2>/dev/null); do
		"$BERTH" destroy --force "$g" >/dev/null 2>&1 || true
	done
	# the containers' parent cgroup (a VM guest makes none)
	for d in /sys/fs/cgroup/*/"$BERTH_CGROUP_PARENT" /sys/fs/cgroup/"$BERTH_CGROUP_PARENT"; do
		[ ! -d "$d" ] || rmdir "$d" 2>/dev/null || true
	done
	rm -rf "$TEST_TMP"
}

need_template() {
	[ -d "$BERTH_ROOT/templates/busybox" ] || skip "no busybox template (needs busybox-static)"
}

# field NAME KEY: a field of `status --json` (KEY is a Python subscript: ['pid'])
field() {
	"$BERTH" status "$1" --json | python3 -c "import json,sys; v=json.load(sys.stdin)$2; print('' if v is None else v)"
}
