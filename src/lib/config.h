/* config.h - a guest's configuration (guests/<name>/config.json). */
#ifndef BERTH_CONFIG_H
#define BERTH_CONFIG_H

#include <stdint.h>
#include <stddef.h>
#include "lib/err.h"
#include "lib/size.h"

enum guest_type { GUEST_CT = 0, GUEST_VM = 1 };

/* Resource limits; LIMIT_NONE means "not limited". */
struct limits {
	uint64_t memory;     /* bytes */
	uint64_t swap;       /* bytes of swap on top of memory */
	uint64_t cpus;       /* millicpus of CPU-time quota */
	uint64_t cpu_weight; /* 1..10000, cgroup v2 scale (default 100) */
	uint64_t pids;       /* max tasks */
	uint64_t disk;       /* bytes of the guest's own ext4 image */
};

/* What the guest's init is; decides the stop signal. */
enum init_kind { INIT_OTHER = 0, INIT_BUSYBOX, INIT_SYSTEMD };

#define IDRANGE_SIZE 65536u

/* How disk.img stores owners. Plain: as in the template (root is 0), the
 * layout a VM boots, seen by a container through an idmapped mount.
 * Shifted: id_base+N on disk, the container layout of berth before VM
 * switching (and of kernels without idmapped ext4 mounts); such an image
 * cannot boot as a VM. */
enum disk_ids { DISK_IDS_PLAIN = 0, DISK_IDS_SHIFTED = 1 };

struct guest_config {
	char name[64];
	enum guest_type type;
	char template_name[64];
	char hostname[64];
	struct limits lim;
	uint32_t id_base;     /* host uid/gid that is root inside (the label) */
	uint32_t id_count;    /* always IDRANGE_SIZE today */
	enum init_kind init;
	int ephemeral;        /* created by `berth run`; destroyed when it ends */
	int onboot;
	int64_t created;      /* unix seconds */
	enum disk_ids disk_ids; /* owners in disk.img; JSON "disk_ids" ("plain" when absent,
				 * but "shifted" for an old container with a disk) */
	struct vm_settings {  /* type vm only */
		char kernel[256];     /* bzImage or vmlinux; "" = the host's newest cloud kernel */
		char cmdline[512];    /* appended to the kernel command line berth builds */
		char mac[18];         /* virtio-net MAC, "52:54:00:xx:xx:xx"; "" = none yet */
	} vm;
};

/* Check a MAC address "xx:xx:xx:xx:xx:xx" (hex, unicast). */
int mac_check(const char *mac, struct err *e);

void limits_init(struct limits *l);
void config_init(struct guest_config *c);

/* Serialise to JSON text (malloc'd, NUL-terminated). */
int config_to_json(const struct guest_config *c, char **out, struct err *e);

/* Parse and validate JSON text of at most len bytes. Untrusted input: every
 * field is type- and range-checked; unknown keys are ignored. */
int config_from_json(const char *text, size_t len, struct guest_config *c, struct err *e);

const char *guest_type_name(enum guest_type t);
const char *init_kind_name(enum init_kind k);
const char *disk_ids_name(enum disk_ids d);

#endif
