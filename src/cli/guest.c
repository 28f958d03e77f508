/* guest.c - verbs that define guests: create, destroy, set, list, status. */
#include "cli/cli.h"

#include <json-c/json.h>
#include <net/if.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ct/cgroup.h"
#include "ct/disk.h"
#include "ct/monitor.h"
#include "ct/overlay.h"
#include "lib/copytree.h"
#include "lib/fsutil.h"
#include "lib/idrange.h"
#include "lib/ledger.h"
#include "lib/name.h"
#include "tpl/template.h"
#include "vm/guest.h"
#include "vm/vm_set.h"

/* Fill the guest's tree from the template: a directory, or an ext4 image
 * with an empty rootfs/ mount point when the guest has a disk quota. */
static int populate(const struct store *s, const struct guest_config *c, struct err *e)
{
	char src[PATH_MAX], dst[PATH_MAX];
	store_template_path(s, c->template_name, "rootfs", src, sizeof(src));
	store_guest_path(s, c->name, "rootfs", dst, sizeof(dst));
	if (c->lim.disk != LIMIT_NONE && c->disk_ids == DISK_IDS_PLAIN) {
		/* ids as in the template: a VM's root is uid 0 in its own kernel,
		 * a container sees the image through an idmapped mount */
		char img[PATH_MAX];
		store_guest_path(s, c->name, "disk.img", img, sizeof(img));
		int r = disk_create(img, c->lim.disk, src, e);
		if (r < 0 || c->type == GUEST_VM)
			return r;
		if (mkdir(dst, 0755) < 0 || chown(dst, c->id_base, c->id_base) < 0)
			return err_sys(e, errno, "create mount point %s", dst);
		return 0;
	}
	if (c->ephemeral && c->lim.disk == LIMIT_NONE) {
		/* `run`: the template through an idmapped overlay, nothing copied */
		char dir[PATH_MAX];
		store_guest_path(s, c->name, NULL, dir, sizeof(dir));
		if (mkdir(dst, 0755) < 0 || chown(dst, c->id_base, c->id_base) < 0)
			return err_sys(e, errno, "create mount point %s", dst);
		return overlay_prepare(dir, c->id_base, e);
	}
	if (c->lim.disk == LIMIT_NONE)
		return copytree_shift(src, dst, c->id_base, e);
	/* no idmapped ext4 mounts on this kernel: a shifted image */
	char tree[PATH_MAX], img[PATH_MAX];
	store_guest_path(s, c->name, ".tree", tree, sizeof(tree));
	store_guest_path(s, c->name, "disk.img", img, sizeof(img));
	int r = copytree_shift(src, tree, c->id_base, e);
	if (r == 0)
		r = disk_create(img, c->lim.disk, tree, e);
	struct err ignore = { 0 };
	rm_rf(tree, &ignore);
	if (r < 0)
		return r;
	if (mkdir(dst, 0755) < 0 || chown(dst, c->id_base, c->id_base) < 0)
		return err_sys(e, errno, "create mount point %s", dst);
	return 0;
}

int guest_create(const struct store *s, struct guest_config *c, struct err *e)
{
	struct template_info t;
	struct cg_host h;
	int r;
	if ((r = tpl_load(s, c->template_name, &t, e)) < 0)
		return r;
	char rootfs[PATH_MAX];
	store_template_path(s, c->template_name, "rootfs", rootfs, sizeof(rootfs));
	if (!c->ephemeral && (r = tpl_init_check(rootfs, c->template_name, e)) < 0)
		return r;   /* `run` starts its command, not the template's init */
	if (c->type == GUEST_VM)
		r = vm_config_check(c, e);
	else if ((r = cg_host_detect(&h, e)) == 0)
		r = cgroup_check_limits(&h, &c->lim, e);
	if (r < 0)
		return r;
	int lock = store_lock(s, e);
	if (lock < 0)
		return lock;
	char dir[PATH_MAX];
	store_guest_path(s, c->name, NULL, dir, sizeof(dir));
	if (path_exists(dir)) {
		close(lock);
		return err_exit(e, EXIT_USAGE, "guest '%s' already exists; pick another name or remove it with 'berth destroy %s'",
				c->name, c->name);
	}
	if ((r = ledger_admit(s, c, LEDGER_CREATE, NULL, e)) < 0) { /* the policy (lib/ledger.h) */
		close(lock);
		return r;
	}
	/* The guest dir is reachable only by host root and the guest's own root;
	 * it exists before the id range is claimed (see idrange_alloc). */
	if (mkdir(dir, 0700) < 0) {
		r = err_sys(e, errno, "create %s", dir);
		close(lock);
		return r;
	}
	if ((r = idrange_alloc(s, c->name, !c->ephemeral, &c->id_base, e)) < 0)
		goto fail;
	c->init = t.init;
	c->created = time(NULL);
	c->disk_ids = c->type == GUEST_CT && c->lim.disk != LIMIT_NONE && !disk_idmap_supported()
			      ? DISK_IDS_SHIFTED : DISK_IDS_PLAIN;
	if (c->type == GUEST_VM && !c->vm.mac[0])
		vm_guest_mac(c, c->vm.mac, sizeof(c->vm.mac));   /* from the label */
	if (chown(dir, 0, c->id_base) < 0 || chmod(dir, 0710) < 0) {
		r = err_sys(e, errno, "set owner of %s", dir);
		goto fail;
	}
	/* Claim the id range before the slow copy; config.json marks existence. */
	if ((r = guest_save(s, c, e)) == 0)
		r = populate(s, c, e);
fail:
	if (r < 0) {
		struct err ignore = { 0 };
		rm_rf(dir, &ignore);
		if (c->id_base)
			idrange_release(s, c->name, c->id_base);
	}
	close(lock);
	return r;
}

int guest_remove(const struct store *s, const struct guest_config *c, struct err *e)
{
	const char *name = c->name;
	char dir[PATH_MAX], trash[PATH_MAX];
	store_guest_path(s, name, NULL, dir, sizeof(dir));
	snprintf(trash, sizeof(trash), "%s/guests/.destroy-%s-%d", s->root, name, (int)getpid());
	int lock = store_lock(s, e);
	if (lock < 0)
		return lock;
	int r = 0;
	if (rename(dir, trash) < 0)
		r = err_sys(e, errno, "remove %s", dir);
	if (r == 0)
		idrange_release(s, name, c->id_base);
	close(lock);
	if (r == 0)
		r = rm_rf(trash, e);
	return r;
}

int cmd_create(int argc, char **argv, struct err *e)
{
	static const struct option opts[] = {
		LIMIT_LONGOPTS,
		{ "template", required_argument, NULL, OPT_TEMPLATE },
		{ "type", required_argument, NULL, OPT_TYPE },
		{ "onboot", no_argument, NULL, OPT_ONBOOT },
		{ "kernel", required_argument, NULL, OPT_KERNEL },
		{ "cmdline", required_argument, NULL, OPT_CMDLINE },
		{ "mac", required_argument, NULL, OPT_MAC },
		{ 0 },
	};
	struct limit_args la;
	const char *tpl = NULL, *name, *kernel = NULL, *cmdline = NULL, *mac = NULL;
	int onboot = 0, vm = 0, opt, r;
	limit_args_init(&la);
	while ((opt = cli_getopt(argc, argv, "", opts, e)) != -1) {
		if (opt < 0)
			return opt;
		if ((r = limit_args_take(&la, opt, optarg, e)) < 0)
			return r;
		if (r)
			continue;
		if (opt == OPT_TEMPLATE)
			tpl = optarg;
		else if (opt == OPT_ONBOOT)
			onboot = 1;
		else if (opt == OPT_KERNEL)
			kernel = optarg;
		else if (opt == OPT_CMDLINE)
			cmdline = optarg;
		else if (opt == OPT_MAC)
			mac = optarg;
		else if (opt == OPT_TYPE && !strcmp(optarg, "vm"))
			vm = 1;
		else if (opt == OPT_TYPE && strcmp(optarg, "ct") != 0)
			return err_exit(e, EXIT_USAGE, "--type %s: give ct (container) or vm", optarg);
	}
	if ((r = cli_one_name(argc, argv, "create NAME --template T [--type ct|vm] [limits]", &name, e)) < 0)
		return r;
	if ((r = name_check(name, "guest", e)) < 0)
		return r;
	if (!tpl)
		return err_exit(e, EXIT_USAGE, "missing --template; see 'berth template list'");
	struct store s;
	if ((r = cli_store(&s, e)) < 0)
		return r;
	struct guest_config c;
	config_init(&c);
	snprintf(c.name, sizeof(c.name), "%s", name);
	snprintf(c.template_name, sizeof(c.template_name), "%s", tpl);
	c.onboot = onboot;
	limit_args_apply(&la, &c);
	if ((kernel || cmdline || mac) && !vm)
		return err_exit(e, EXIT_USAGE, "--kernel, --cmdline and --mac are for --type vm");
	if (mac && (r = mac_check(mac, e)) < 0)
		return err_wrap(e, "--mac");
	if (vm) {
		if ((r = vm_limits_check(&la, e)) < 0)
			return r;
		c.type = GUEST_VM;
		if ((kernel && strlen(kernel) >= sizeof(c.vm.kernel)) ||
		    (cmdline && strlen(cmdline) >= sizeof(c.vm.cmdline)))
			return err_exit(e, EXIT_USAGE, "--kernel or --cmdline is too long");
		snprintf(c.vm.kernel, sizeof(c.vm.kernel), "%s", kernel ? kernel : "");
		snprintf(c.vm.cmdline, sizeof(c.vm.cmdline), "%s", cmdline ? cmdline : "");
		snprintf(c.vm.mac, sizeof(c.vm.mac), "%s", mac ? mac : "");
	}
	return guest_create(&s, &c, e);
}

int cmd_destroy(int argc, char **argv, struct err *e)
{
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' }, { 0 } };
	int force = 0, opt, r;
	const char *name;
	while ((opt = cli_getopt(argc, argv, "f", opts, e)) != -1) {
		if (opt < 0)
			return opt;
		force = 1;
	}
	if ((r = cli_one_name(argc, argv, "destroy [--force] NAME", &name, e)) < 0)
		return r;
	struct store s;
	struct guest_config c;
	if ((r = cli_store(&s, e)) < 0 || (r = guest_load(&s, name, &c, e)) < 0)
		return r;
	int lock = store_guest_lock(&s, name, e);
	if (lock < 0)
		return lock;
	struct guest_runtime rt;
	guest_runtime(&s, name, &rt);
	if (rt.running && !force) {
		close(lock);
		return err_exit(e, EXIT_STATE, "guest '%s' is running; stop it first with 'berth stop %s', or use --force",
				name, name);
	}
	if (rt.running && (r = guest_kill(&s, name, e)) < 0) {
		close(lock);
		return r;
	}
	guest_runtime(&s, name, &rt);
	if (rt.stale && (r = guest_cleanup_stale(&s, &c, e)) < 0) {
		close(lock);
		return r;
	}
	r = guest_remove(&s, &c, e);
	if (r == 0)
		store_guest_lock_remove(&s, name);
	close(lock);
	return r;
}

/* Rename a running guest: sethostname in its uts namespace (the guest's
 * /etc/hostname follows at its next start). */
static int set_live_hostname(pid_t init_pid, const char *host, struct err *e)
{
	int pidfd = (int)syscall(SYS_pidfd_open, init_pid, 0);
	if (pidfd < 0)
		return err_sys(e, errno, "open the guest's init");
	pid_t pid = fork();
	if (pid == 0)
		_exit(setns(pidfd, CLONE_NEWUTS) < 0 || sethostname(host, strlen(host)) < 0);
	close(pidfd);
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return err_set(e, EIO, "could not set the hostname of the running guest");
	return 0;
}

/* Grow a running guest's disk from inside its monitor's mount namespace. */
static int grow_live_disk(const struct store *s, const struct guest_config *c, pid_t monitor,
			  uint64_t bytes, struct err *e)
{
	char img[PATH_MAX], root[PATH_MAX], ns[64];
	store_guest_path(s, c->name, "disk.img", img, sizeof(img));
	store_guest_path(s, c->name, "rootfs", root, sizeof(root));
	snprintf(ns, sizeof(ns), "/proc/%d/ns/mnt", (int)monitor);
	int fd = open(ns, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "open the monitor's mount namespace");
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		close(fd);
		return err_sys(e, errno, "pipe");
	}
	pid_t pid = fork();
	if (pid == 0) {
		struct err ce = { 0 };
		close(pfd[0]);
		if (setns(fd, CLONE_NEWNS) < 0)
			err_sys(&ce, errno, "enter the monitor's mount namespace");
		else
			disk_grow(img, bytes, root, &ce);
		if (ce.msg[0] && write(pfd[1], ce.msg, strlen(ce.msg)) < 0)
			_exit(2);
		_exit(ce.msg[0] ? 1 : 0);
	}
	close(fd);
	close(pfd[1]);
	char msg[sizeof(e->msg)];
	ssize_t n = pid < 0 ? -1 : read(pfd[0], msg, sizeof(msg) - 1);
	close(pfd[0]);
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		msg[n > 0 ? n : 0] = '\0';
		return err_exit(e, EXIT_HOST, "grow the disk of running guest '%s': %s", c->name,
				n > 0 ? msg : "failed; stop the guest and retry");
	}
	return 0;
}

/* The VM part of `set`: VM settings checked (vm/vm_set.h), saved; what
 * a running VM only picks up at its next start is said so. */
static int set_vm(const struct store *s, struct guest_config *c, const struct guest_config *old,
		  const struct limit_args *la, const char *kernel, const char *cmdline, int running,
		  struct err *e)
{
	int r = vm_limits_check(la, e);
	if (r < 0)
		return r;
	if (kernel)
		snprintf(c->vm.kernel, sizeof(c->vm.kernel), "%s", kernel);
	if (cmdline)
		snprintf(c->vm.cmdline, sizeof(c->vm.cmdline), "%s", cmdline);
	int later = vm_set_check(s, c, old, running, e);
	if (later < 0)
		return later;
	r = guest_save(s, c, e);
	if (r == 0 && later)
		fprintf(stderr, "berth: VM '%s' is running; the new settings take effect at its next start\n",
			c->name);
	if (r == 0 && running && strcmp(c->hostname, old->hostname) != 0) {
		struct err le = { 0 };
		const char *host = c->hostname[0] ? c->hostname : c->name;
		if (vm_set_live_hostname(s, c->name, host, &le) < 0)
			fprintf(stderr, "berth: VM '%s' keeps its old hostname until its next start: %s\n",
				c->name, le.msg);
	}
	return r;
}

int cmd_set(int argc, char **argv, struct err *e)
{
	static const struct option opts[] = {
		LIMIT_LONGOPTS,
		{ "onboot", required_argument, NULL, OPT_ONBOOT },
		{ "type", required_argument, NULL, OPT_TYPE },
		{ "kernel", required_argument, NULL, OPT_KERNEL },
		{ "cmdline", required_argument, NULL, OPT_CMDLINE },
		{ 0 },
	};
	struct limit_args la;
	const char *name, *onboot = NULL, *type = NULL, *kernel = NULL, *cmdline = NULL;
	int opt, r;
	limit_args_init(&la);
	while ((opt = cli_getopt(argc, argv, "", opts, e)) != -1) {
		if (opt < 0)
			return opt;
		if ((r = limit_args_take(&la, opt, optarg, e)) < 0)
			return r;
		if (!r && opt == OPT_ONBOOT)
			onboot = optarg;
		else if (!r && opt == OPT_TYPE)
			type = optarg;
		else if (!r && opt == OPT_KERNEL)
			kernel = optarg;
		else if (!r && opt == OPT_CMDLINE)
			cmdline = optarg;
	}
	if ((r = cli_one_name(argc, argv, "set NAME [--memory SIZE] ...", &name, e)) < 0)
		return r;
	if (onboot && strcmp(onboot, "yes") && strcmp(onboot, "no"))
		return err_exit(e, EXIT_USAGE, "--onboot takes yes or no");
	if (type && strcmp(type, "ct") && strcmp(type, "vm"))
		return err_exit(e, EXIT_USAGE, "--type %s: give ct (container) or vm", type);
	if ((kernel && strlen(kernel) >= sizeof(((struct guest_config *)0)->vm.kernel)) ||
	    (cmdline && strlen(cmdline) >= sizeof(((struct guest_config *)0)->vm.cmdline)))
		return err_exit(e, EXIT_USAGE, "--kernel or --cmdline is too long");
	if (!la.given && !la.hostname && !onboot && !type && !kernel && !cmdline)
		return err_exit(e, EXIT_USAGE, "nothing to set; give --memory, --swap, --cpus, --cpu-weight, --pids, --disk, --hostname, --onboot, --type, --kernel or --cmdline");
	struct store s;
	if ((r = cli_store(&s, e)) < 0)
		return r;
	int lock = store_guest_lock(&s, name, e);
	if (lock < 0)
		return lock;
	struct guest_config c, old;
	struct cg_host h;
	struct guest_runtime rt;
	int ledger = -1; /* the ledger lock, held until the change is applied */
	if ((r = guest_load(&s, name, &c, e)) < 0)
		goto out;
	old = c;
	limit_args_apply(&la, &c);
	if (onboot)
		c.onboot = !strcmp(onboot, "yes");
	guest_runtime(&s, name, &rt);
	enum guest_type to = !type ? c.type : strcmp(type, "vm") ? GUEST_CT : GUEST_VM;
	if ((kernel || cmdline) && to != GUEST_VM) {
		r = err_exit(e, EXIT_USAGE, "--kernel and --cmdline are for VM guests; '%s' would be a container", name);
		goto out;
	}
	if ((r = vm_switch_type(&s, &c, to, rt.running, e)) < 0)
		goto out;
	if ((r = ledger_admit(&s, &c, LEDGER_SET, &ledger, e)) < 0)
		goto out;
	if (c.type == GUEST_VM) {
		r = set_vm(&s, &c, &old, &la, kernel, cmdline, rt.running, e);
		goto out;
	}
	if ((r = cg_host_detect(&h, e)) < 0 || (r = cgroup_check_limits(&h, &c.lim, e)) < 0)
		goto out;
	if ((c.lim.disk == LIMIT_NONE) != (old.lim.disk == LIMIT_NONE)) {
		r = err_exit(e, EXIT_USAGE, "--disk can only resize an existing disk image; guest '%s' was created %s one",
			     name, old.lim.disk == LIMIT_NONE ? "without" : "with");
		goto out;
	}
	if (c.lim.disk != old.lim.disk) {
		char img[PATH_MAX];
		store_guest_path(&s, name, "disk.img", img, sizeof(img));
		if (c.lim.disk < old.lim.disk) {
			r = disk_grow(img, c.lim.disk, NULL, e); /* refuses, with the reason */
			goto out;
		}
		r = rt.running ? grow_live_disk(&s, &c, rt.monitor_pid, c.lim.disk, e)
			       : disk_grow(img, c.lim.disk, NULL, e);
		if (r < 0)
			goto out;
	}
	if (rt.running) {
		struct cgroup cg;
		if ((r = cgroup_open(&h, name, &cg, e)) < 0 ||
		    (r = cgroup_apply_limits(&cg, &c.lim, e)) < 0) {
			struct err ignore = { 0 };
			cgroup_apply_limits(&cg, &old.lim, &ignore); /* leave it as it was */
			goto out;
		}
		if (strcmp(c.hostname, old.hostname) != 0 &&
		    (r = set_live_hostname(rt.init_pid, c.hostname, e)) < 0)
			goto out;
	}
	r = guest_save(&s, &c, e);
out:
	ledger_release(ledger);
	close(lock);
	return r;
}

/* The JSON object `status --json` prints (and `list --json` an array of). */
static json_object *status_json(const struct store *s, const struct guest_config *c,
				const struct guest_runtime *rt)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(c->name));
	json_object_object_add(o, "type", json_object_new_string(guest_type_name(c->type)));
	json_object_object_add(o, "state", json_object_new_string(rt->running ? "running" : "stopped"));
	json_object_object_add(o, "pid", rt->running ? json_object_new_int(rt->init_pid) : NULL);
	json_object_object_add(o, "monitor_pid", rt->running ? json_object_new_int(rt->monitor_pid) : NULL);
	json_object_object_add(o, "started", rt->running ? json_object_new_int64(rt->started) : NULL);
	json_object_object_add(o, "template", json_object_new_string(c->template_name));
	json_object_object_add(o, "hostname", json_object_new_string(c->hostname[0] ? c->hostname : c->name));
	json_object_object_add(o, "init", json_object_new_string(init_kind_name(c->init)));
	json_object_object_add(o, "uid_base", json_object_new_int64(c->id_base));
	json_object_object_add(o, "uid_count", json_object_new_int64(c->id_count));
	json_object_object_add(o, "onboot", json_object_new_boolean(c->onboot));
	if (c->type == GUEST_VM) {
		char mac[18], tap[IFNAMSIZ];
		vm_guest_mac(c, mac, sizeof(mac));
		vm_guest_tap(c, tap, sizeof(tap));
		json_object *n = json_object_new_object();
		json_object_object_add(n, "mac", json_object_new_string(mac));
		json_object_object_add(n, "tap", json_object_new_string(tap));
		json_object_object_add(o, "net", n);
	}
	json_object *l = json_object_new_object();
	const struct { const char *k; uint64_t v; } lims[] = {
		{ "memory_bytes", c->lim.memory }, { "swap_bytes", c->lim.swap },
		{ "cpus_milli", c->lim.cpus }, { "cpu_weight", c->lim.cpu_weight },
		{ "pids", c->lim.pids }, { "disk_bytes", c->lim.disk },
	};
	for (size_t i = 0; i < sizeof(lims) / sizeof(lims[0]); i++)
		json_object_object_add(l, lims[i].k, lims[i].v == LIMIT_NONE ? NULL
						     : json_object_new_uint64(lims[i].v));
	json_object_object_add(o, "limits", l);
	struct guest_exit x;
	guest_exit_load(s, c->name, &x);
	if (x.valid && !rt->running) {
		json_object *xo = json_object_new_object();
		json_object_object_add(xo, "code", x.code >= 0 ? json_object_new_int(x.code) : NULL);
		json_object_object_add(xo, "signal", x.signal ? json_object_new_int(x.signal) : NULL);
		json_object_object_add(xo, "reason", json_object_new_string(x.reason));
		json_object_object_add(xo, "when", json_object_new_int64(x.when));
		json_object_object_add(o, "last_exit", xo);
	} else {
		json_object_object_add(o, "last_exit", NULL);
	}
	return o;
}

/* Runtime state, cleaning up after a monitor that was killed. */
static void runtime_fresh(const struct store *s, const struct guest_config *c,
			  struct guest_runtime *rt)
{
	guest_runtime(s, c->name, rt);
	if (rt->stale) {
		struct err ignore = { 0 };
		guest_cleanup_stale(s, c, &ignore);
		guest_runtime(s, c->name, rt);
	}
}

static void print_row(const struct guest_config *c, const struct guest_runtime *rt)
{
	char mem[32], cpus[32], pid[16] = "-";
	size_format(c->lim.memory, mem, sizeof(mem));
	cpus_format(c->lim.cpus, cpus, sizeof(cpus));
	if (rt->running)
		snprintf(pid, sizeof(pid), "%d", (int)rt->init_pid);
	printf("%-20s %-4s %-8s %-8s %-12s %-10s %s\n", c->name, guest_type_name(c->type),
	       rt->running ? "running" : "stopped", pid, c->template_name, mem, cpus);
}

int cmd_list(int argc, char **argv, struct err *e)
{
	int json, r;
	if ((r = cli_json_flag(argc, argv, &json, e)) < 0)
		return r;
	if (optind < argc)
		return err_exit(e, EXIT_USAGE, "unexpected argument '%s'; usage: berth list [--json]", argv[optind]);
	struct store s;
	char **names;
	size_t n;
	if ((r = cli_store(&s, e)) < 0 || (r = store_list(&s, "guests", &names, &n, e)) < 0)
		return r;
	json_object *arr = json ? json_object_new_array() : NULL;
	if (!json)
		printf("%-20s %-4s %-8s %-8s %-12s %-10s %s\n", "NAME", "TYPE", "STATE", "PID",
		       "TEMPLATE", "MEMORY", "CPUS");
	for (size_t i = 0; i < n; i++) {
		struct guest_config c;
		struct guest_runtime rt;
		struct err le = { 0 };
		if (guest_load(&s, names[i], &c, &le) < 0) {
			fprintf(stderr, "berth list: %s\n", le.msg);
			continue;
		}
		runtime_fresh(&s, &c, &rt);
		if (json)
			json_object_array_add(arr, status_json(&s, &c, &rt));
		else
			print_row(&c, &rt);
	}
	names_free(names, n);
	if (json) {
		cli_print_json(arr);
		json_object_put(arr);
	}
	return 0;
}

int cmd_status(int argc, char **argv, struct err *e)
{
	int json, r;
	const char *name;
	if ((r = cli_json_flag(argc, argv, &json, e)) < 0)
		return r;
	if ((r = cli_one_name(argc, argv, "status NAME [--json]", &name, e)) < 0)
		return r;
	struct store s;
	struct guest_config c;
	struct guest_runtime rt;
	if ((r = cli_store(&s, e)) < 0 || (r = guest_load(&s, name, &c, e)) < 0)
		return r;
	runtime_fresh(&s, &c, &rt);
	json_object *o = status_json(&s, &c, &rt);
	if (json) {
		cli_print_json(o);
	} else {
		json_object_object_foreach(o, k, v) {
			if (json_object_is_type(v, json_type_object)) {
				json_object_object_foreach(v, k2, v2)
					printf("%s.%s: %s\n", k, k2, v2 ? json_object_get_string(v2) : "-");
			} else {
				printf("%s: %s\n", k, v ? json_object_get_string(v) : "-");
			}
		}
	}
	json_object_put(o);
	return 0;
}
