/* vm_stats.c - a VM's usage: the VMM's "stats" reply and the host's reading
 * of it (see vm_stats.h). */
#include "vm/vm_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ct/control.h"
#include "lib/fsutil.h"
#include "vm/vcpu.h"
#include "vm/virtio/blk.h"
#include "vm/virtio/net.h"
#include "vm/vm.h"

#define VM_STATS_TIMEOUT_MS 2000

/* A counter another thread increments: one aligned 64-bit load. */
static uint64_t load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void vm_stats_reply(const struct vm *vm, unsigned boots, unsigned vcpus, uint64_t memory,
		    char *out, size_t cap)
{
	uint64_t exits = 0, rd = 0, wr = 0, rx = 0, tx = 0;
	if (vm) {
		for (unsigned i = 0; vm->vcpus && i < vm->ncpus; i++)
			exits = stats_add(exits, load(&vm->vcpus[i].exits));
		for (unsigned i = 0; i < vm->nvirtio; i++) {
			const struct virtio_dev *d = vm->virtio[i];
			if (!d || d->ops != &blk_dev_ops)
				continue;
			const struct blk_disk *disk = d->priv;
			rd = stats_add(rd, load(&disk->read_bytes));
			wr = stats_add(wr, load(&disk->write_bytes));
		}
		if (vm->net)
			virtio_net_bytes(vm->net, &rx, &tx);
	}
	snprintf(out, cap,
		 "{\"pid\":%d,\"boots\":%u,\"vcpus\":%u,\"guest_memory_bytes\":%llu,\"exits\":%llu,"
		 "\"block_read_bytes\":%llu,\"block_write_bytes\":%llu,"
		 "\"net_rx_bytes\":%llu,\"net_tx_bytes\":%llu}",
		 (int)getpid(), boots, vcpus, (unsigned long long)memory, (unsigned long long)exits,
		 (unsigned long long)rd, (unsigned long long)wr, (unsigned long long)rx,
		 (unsigned long long)tx);
}

/* CPU time, threads, RSS and swap of the VMM process from /proc; only if
 * pid (the VMM's own word) is the monitor's child. */
static void vmm_proc(int pid, pid_t monitor, struct guest_stats *st)
{
	char path[64], *text = NULL;
	size_t len = 0;
	uint64_t ticks = 0, threads = 0;
	int ppid = 0;
	long hz = sysconf(_SC_CLK_TCK);
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_file(path, 4096, &text, &len, NULL) == 0 &&
	    stats_parse_proc_stat(text, len, &ppid, &ticks, &threads) == 0 && ppid == monitor) {
		st->cpu_usec = hz > 0 ? ticks * (1000000 / (uint64_t)hz) : 0;
		st->pids = threads;
	}
	free(text);
	text = NULL;
	if (ppid != monitor)
		return;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_file(path, 65536, &text, &len, NULL) == 0) {
		stats_parse_keyed(text, len, "VmRSS", &st->memory_bytes);
		stats_parse_keyed(text, len, "VmSwap", &st->swap_bytes);
	}
	free(text);
}

int vm_stats_read(const struct store *s, const char *name, pid_t monitor,
		  struct guest_stats *st, struct err *e)
{
	char reply[512];
	int pid = 0;
	int r = control_call(s, name, "stats", reply, sizeof(reply), VM_STATS_TIMEOUT_MS, e);
	if (r < 0)
		return r;
	if (!strncmp(reply, "error ", 6))
		return err_set(e, EPROTO, "the VMM of '%s' refused stats: %s", name, reply + 6);
	if (stats_parse_vmm_reply(reply, strlen(reply), st, &pid) < 0 || pid <= 0)
		return err_set(e, EPROTO, "the VMM of '%s' sent an unreadable stats reply", name);
	st->memory_limit_bytes = st->guest_memory_bytes;
	vmm_proc(pid, monitor, st);
	return 0;
}
