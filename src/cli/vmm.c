/* vmm.c - `berth vmm`: boot a kernel in a VM with berth's own VMM, the
 * guest's console (the serial port, or with --console virtio the virtio
 * console) on this process's stdin and stdout. The exit status says how
 * the guest ended (0 powered off; see src/vm/vmm.h). */
#include "cli/cli.h"

#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "lib/size.h"
#include "net/tap.h"
#include "vm/sandbox.h"
#include "vm/virtio/blk.h"
#include "vm/vmm.h"
#include "vm/vm.h"

#define VMM_USAGE "vmm --kernel K [--initrd I] [--cmdline S] [--memory SIZE] [--cpus N] " \
	"[--console serial|virtio] [--disk FILE[,ro]]... [--kernel-loader auto|bzimage|elf] " \
	"[--control SOCKET] [--vsock SOCKET [--vsock-cid N]] [--net TAP[,mac=MAC]] [--no-reboot] [--stats] [--sandbox-uid N]"

enum { VOPT_KERNEL = 2000, VOPT_INITRD, VOPT_CMDLINE, VOPT_MEMORY, VOPT_CPUS, VOPT_NO_REBOOT,
       VOPT_STATS, VOPT_CONSOLE, VOPT_KERNEL_LOADER, VOPT_DISK, VOPT_CONTROL, VOPT_VSOCK,
       VOPT_VSOCK_CID, VOPT_NET, VOPT_SANDBOX_UID };

int cmd_vmm(int argc, char **argv, struct err *e)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, VOPT_KERNEL },
		{ "initrd", required_argument, NULL, VOPT_INITRD },
		{ "cmdline", required_argument, NULL, VOPT_CMDLINE },
		{ "memory", required_argument, NULL, VOPT_MEMORY },
		{ "cpus", required_argument, NULL, VOPT_CPUS },
		{ "no-reboot", no_argument, NULL, VOPT_NO_REBOOT },
		{ "stats", no_argument, NULL, VOPT_STATS },
		{ "console", required_argument, NULL, VOPT_CONSOLE },
		{ "disk", required_argument, NULL, VOPT_DISK },
		{ "kernel-loader", required_argument, NULL, VOPT_KERNEL_LOADER },
		{ "control", required_argument, NULL, VOPT_CONTROL },
		{ "vsock", required_argument, NULL, VOPT_VSOCK },
		{ "vsock-cid", required_argument, NULL, VOPT_VSOCK_CID },
		{ "net", required_argument, NULL, VOPT_NET },
		{ "sandbox-uid", required_argument, NULL, VOPT_SANDBOX_UID },
		{ NULL, 0, NULL, 0 },
	};
	struct vmm_config c = {
		.cmdline = NULL,
		.memory = VMM_DEFAULT_MEMORY,
		.cpus = 1,
		.vsock_cid = 3,
	};
	struct vmm_sandbox sb = { 0 };
	char sock_dirs[VMM_SANDBOX_DIRS][PATH_MAX];
	int stats = 0, opt, r;
	char net_name[IFNAMSIZ];
	uint8_t net_mac[6];
	uint64_t v;
	while ((opt = cli_getopt(argc, argv, "", opts, e)) != -1) {
		if (opt < 0)
			return opt;
		switch (opt) {
		case VOPT_KERNEL: c.kernel = optarg; break;
		case VOPT_INITRD: c.initrd = optarg; break;
		case VOPT_CMDLINE: c.cmdline = optarg; break;
		case VOPT_NO_REBOOT: c.no_reboot = 1; break;
		case VOPT_STATS: stats = 1; break;
		case VOPT_CONSOLE:
			if (!strcmp(optarg, "serial"))
				c.console = VMM_CONSOLE_SERIAL;
			else if (!strcmp(optarg, "virtio"))
				c.console = VMM_CONSOLE_VIRTIO;
			else
				return err_exit(e, EXIT_USAGE,
						"--console '%.60s': give serial (ttyS0) or virtio (hvc0)",
						optarg);
			break;
		case VOPT_CONTROL: c.control = optarg; break;
		case VOPT_VSOCK: c.vsock_uds = optarg; break;
		case VOPT_NET:
			if (c.net)
				return err_exit(e, EXIT_USAGE, "--net: a VM takes one network device");
			c.net = optarg;
			if ((r = tap_spec_parse(optarg, net_name, net_mac, e)) < 0)
				return r;   /* checked now; vmm_prepare opens it */
			break;
		case VOPT_SANDBOX_UID:     /* run as uid=gid N, sandboxed (vm/sandbox.h) */
			r = uint_parse(optarg, 1, 0xfffffffeu, 0, &v, e);
			if (r < 0)
				return err_wrap(e, "--sandbox-uid");
			sb.uid = sb.gid = (uid_t)v;
			c.sandbox = &sb;
			break;
		case VOPT_VSOCK_CID:
			r = uint_parse(optarg, 3, 0xfffffffeu, 0, &v, e);
			if (r < 0)
				return err_wrap(e, "--vsock-cid");
			c.vsock_cid = v;
			break;
		case VOPT_DISK:
			if (c.ndisks == VMM_MAX_DISKS)
				return err_exit(e, EXIT_USAGE, "--disk: a VM takes at most %d disks",
						VMM_MAX_DISKS);
			c.disks[c.ndisks++] = optarg;
			break;
		case VOPT_KERNEL_LOADER:
			if (!strcmp(optarg, "auto"))
				c.kernel_loader = VMM_LOADER_AUTO;
			else if (!strcmp(optarg, "bzimage"))
				c.kernel_loader = VMM_LOADER_BZIMAGE;
			else if (!strcmp(optarg, "elf"))
				c.kernel_loader = VMM_LOADER_ELF;
			else
				return err_exit(e, EXIT_USAGE,
						"--kernel-loader '%.60s': give auto, bzimage (the kernel decompresses itself) or elf (berth decompresses it, then loads the vmlinux)",
						optarg);
			break;
		case VOPT_MEMORY:
			r = size_parse(optarg, &c.memory, e);
			if (r < 0)
				return err_wrap(e, "--memory");
			if (c.memory == LIMIT_NONE)
				return err_exit(e, EXIT_USAGE, "--memory needs a size, not 'unlimited'");
			break;
		case VOPT_CPUS:
			r = uint_parse(optarg, 1, VMM_MAX_CPUS, 0, &v, e);
			if (r < 0)
				return err_wrap(e, "--cpus");
			c.cpus = (unsigned)v;
			break;
		}
	}
	if (optind < argc)
		return err_exit(e, EXIT_USAGE, "unexpected argument '%.60s'; usage: berth %s",
				argv[optind], VMM_USAGE);
	if (!c.kernel)
		return err_exit(e, EXIT_USAGE, "missing --kernel; usage: berth %s", VMM_USAGE);
	if (!c.cmdline)
		c.cmdline = c.console == VMM_CONSOLE_VIRTIO ? VMM_DEFAULT_CMDLINE_VIRTIO
							    : VMM_DEFAULT_CMDLINE;

	/* the sandboxed VMM still makes its sockets on each boot */
	const char *socks[VMM_SANDBOX_DIRS] = { c.control, c.vsock_uds };
	for (int i = 0; c.sandbox && i < VMM_SANDBOX_DIRS; i++)
		if (socks[i]) {
			snprintf(sock_dirs[i], sizeof(sock_dirs[i]), "%s", socks[i]);
			sb.sock_dirs[i] = dirname(sock_dirs[i]);
		}

	struct vmm_image img;
	r = vmm_prepare(&c, &img, e);
	if (r == 0) {
		struct vmm_stats st;
		r = vmm_run(&c, &img, &st, e);
		fflush(stdout);
		if (r > 0 && st.why[0])
			fprintf(stderr, "berth vmm: %s\n", st.why);
		if (stats && st.boots)
			fprintf(stderr,
				"berth vmm: boots %u, last %.3f s, exits to user space %llu (pio %llu, mmio %llu), unclaimed pio %llu mmio %llu, %s\n",
				st.boots, st.seconds, (unsigned long long)st.exits,
				(unsigned long long)st.exits_io, (unsigned long long)st.exits_mmio,
				(unsigned long long)st.unhandled_pio,
				(unsigned long long)st.unhandled_mmio,
				st.why[0] ? st.why : "-");
		for (unsigned i = 0; stats && i < img.ndisks; i++) {
			const struct blk_disk *d = &img.disks[i];
			fprintf(stderr, "berth vmm: disk %s: reads %llu (%llu bytes), writes %llu (%llu bytes), flushes %llu, errors %llu\n",
				d->path, (unsigned long long)d->reads, (unsigned long long)d->read_bytes,
				(unsigned long long)d->writes, (unsigned long long)d->write_bytes,
				(unsigned long long)d->flushes, (unsigned long long)d->errors);
		}
	}
	vmm_image_free(&img);
	return r;
}
