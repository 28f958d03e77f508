/* hostile_virtq.c - a guest-side program that plays a malicious virtio
 * driver against berth's virtio-mmio entropy device (tests/vm/vmm.bats).
 *
 * Runs as root inside the guest, with the virtio_mmio driver NOT loaded (so
 * the window is free): maps the device's registers through /dev/mem, sets
 * up queue 0 in a locked page of its own memory (physical address from
 * /proc/self/pagemap) and feeds it one broken request after another:
 * descriptor indices past the queue, loops, buffers outside RAM, huge
 * lengths, nested or malformed indirect tables, an avail index that jumps,
 * rings outside RAM. After each it checks that the VMM is still there (the
 * registers answer) and resets the device. Then one valid request must be
 * served. Prints one line per case and "HOSTILE-DONE ok=N bad=M".
 * Register offsets: virtio 1.2 section 4.2.2; rings: 2.7. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define WIN_BASE 0xd0000000ull
#define WIN_SIZE 0x1000
#define WIN_MAX  16
#define QSZ      8

enum {
	R_MAGIC = 0x000, R_VERSION = 0x004, R_DEVICE_ID = 0x008, R_DRV_FEAT = 0x020,
	R_DRV_FEAT_SEL = 0x024, R_QUEUE_SEL = 0x030, R_QUEUE_NUM_MAX = 0x034, R_QUEUE_NUM = 0x038,
	R_QUEUE_READY = 0x044, R_QUEUE_NOTIFY = 0x050, R_INT_STATUS = 0x060, R_INT_ACK = 0x064,
	R_STATUS = 0x070, R_DESC_LO = 0x080, R_DESC_HI = 0x084, R_AVAIL_LO = 0x090,
	R_AVAIL_HI = 0x094, R_USED_LO = 0x0a0, R_USED_HI = 0x0a4,
};
#define S_ACK 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 64
#define F_NEXT 1
#define F_WRITE 2
#define F_INDIRECT 4

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };

static volatile uint32_t *regs;
static uint8_t *page;             /* our ring page: desc 0, avail 256, used 512, data 1024 */
static uint64_t page_pa;

static uint32_t rd(unsigned off) { return regs[off / 4]; }
static void wr(unsigned off, uint32_t v) { regs[off / 4] = v; }

static struct desc *descs(void) { return (struct desc *)page; }
static volatile uint16_t *avail(void) { return (volatile uint16_t *)(page + 256); }
static volatile uint16_t *used_idx(void) { return (volatile uint16_t *)(page + 512 + 2); }

static uint64_t phys_of(void *p)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return 0;
	uint64_t ent = 0;
	off_t off = (off_t)((uintptr_t)p / 4096) * 8;
	if (pread(fd, &ent, 8, off) != 8)
		ent = 0;
	close(fd);
	if (!(ent >> 63))
		return 0;
	return (ent & ((1ull << 55) - 1)) * 4096;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Bring the device up with queue 0 at the given ring addresses. */
static void setup(uint64_t desc_pa, uint64_t avail_pa, uint64_t used_pa)
{
	wr(R_STATUS, 0);
	memset(page, 0, 1024);
	wr(R_STATUS, S_ACK);
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DRV_FEAT_SEL, 1);
	wr(R_DRV_FEAT, 1);                /* VIRTIO_F_VERSION_1 (bit 32) */
	wr(R_DRV_FEAT_SEL, 0);
	wr(R_DRV_FEAT, 0);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	wr(R_QUEUE_SEL, 0);
	wr(R_QUEUE_NUM, QSZ);
	wr(R_DESC_LO, (uint32_t)desc_pa);
	wr(R_DESC_HI, (uint32_t)(desc_pa >> 32));
	wr(R_AVAIL_LO, (uint32_t)avail_pa);
	wr(R_AVAIL_HI, (uint32_t)(avail_pa >> 32));
	wr(R_USED_LO, (uint32_t)used_pa);
	wr(R_USED_HI, (uint32_t)(used_pa >> 32));
	wr(R_QUEUE_READY, 1);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
}

/* Offer avail ring entries heads[0..n) with avail->idx = idx, notify, and
 * wait up to 2 s for the device to react (used idx moves or NEEDS_RESET). */
static uint32_t offer(const uint16_t *heads, unsigned n, uint16_t idx)
{
	for (unsigned i = 0; i < n; i++)
		avail()[2 + i % QSZ] = heads[i];
	__atomic_store_n(&avail()[1], idx, __ATOMIC_RELEASE);
	wr(R_QUEUE_NOTIFY, 0);
	uint32_t st = 0;
	for (int t = 0; t < 200; t++) {
		st = rd(R_STATUS);
		if ((st & S_NEEDS_RESET) || *used_idx() != 0)
			break;
		sleep_ms(10);
	}
	wr(R_INT_ACK, rd(R_INT_STATUS));
	return st;
}

static int ok, bad;

static void report(const char *name, uint32_t st)
{
	uint32_t magic = rd(R_MAGIC);
	int alive = magic == 0x74726976;
	int refused = (st & S_NEEDS_RESET) || *used_idx() == 0;
	printf("hostile %-28s status=0x%02x used=%u vmm=%s %s\n", name, st, *used_idx(),
	       alive ? "alive" : "GONE", alive && refused ? "ok" : "BAD");
	if (alive && refused)
		ok++;
	else
		bad++;
	wr(R_STATUS, 0);
}

int main(void)
{
	int fd = open("/dev/mem", O_RDWR | O_SYNC);
	if (fd < 0) {
		perror("hostile: /dev/mem");
		return 2;
	}
	for (unsigned i = 0; i < WIN_MAX && !regs; i++) {
		void *m = mmap(NULL, WIN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			       (off_t)(WIN_BASE + i * WIN_SIZE));
		if (m == MAP_FAILED)
			continue;
		volatile uint32_t *r = m;
		if (r[R_MAGIC / 4] == 0x74726976 && r[R_VERSION / 4] == 2 && r[R_DEVICE_ID / 4] == 4)
			regs = r;
		else
			munmap(m, WIN_SIZE);
	}
	if (!regs) {
		fprintf(stderr, "hostile: no virtio entropy device found\n");
		return 2;
	}
	if (posix_memalign((void **)&page, 4096, 4096) || mlock(page, 4096)) {
		perror("hostile: lock a page");
		return 2;
	}
	memset(page, 0, 4096);
	page_pa = phys_of(page);
	if (!page_pa) {
		fprintf(stderr, "hostile: no physical address for our page\n");
		return 2;
	}
	if (rd(R_QUEUE_NUM_MAX) < QSZ) {
		fprintf(stderr, "hostile: queue too small\n");
		return 2;
	}
	const uint64_t D = page_pa, A = page_pa + 256, U = page_pa + 512, DATA = page_pa + 1024;
	uint16_t h0 = 0, h[1];

	setup(D, A, U);                                     /* head index past the queue */
	h[0] = 999;
	report("head-out-of-range", offer(h, 1, 1));

	setup(D, A, U);                                     /* 0 -> 1 -> 0 ... */
	descs()[0] = (struct desc){ DATA, 16, F_WRITE | F_NEXT, 1 };
	descs()[1] = (struct desc){ DATA + 16, 16, F_WRITE | F_NEXT, 0 };
	report("descriptor-loop", offer(&h0, 1, 1));

	setup(D, A, U);                                     /* next past the queue */
	descs()[0] = (struct desc){ DATA, 16, F_WRITE | F_NEXT, 4000 };
	report("next-out-of-range", offer(&h0, 1, 1));

	setup(D, A, U);                                     /* buffer far outside RAM */
	descs()[0] = (struct desc){ 0xfffffffff000ull, 16, F_WRITE, 0 };
	report("buffer-outside-ram", offer(&h0, 1, 1));

	setup(D, A, U);                                     /* address + len wraps */
	descs()[0] = (struct desc){ 0xfffffffffffffff0ull, 0x100, F_WRITE, 0 };
	report("buffer-wraps", offer(&h0, 1, 1));

	setup(D, A, U);                                     /* 4 GiB - 1 bytes */
	descs()[0] = (struct desc){ DATA, 0xffffffffu, F_WRITE, 0 };
	report("huge-length", offer(&h0, 1, 1));

	setup(D, A, U);                                     /* indirect table: bad length */
	descs()[0] = (struct desc){ DATA, 17, F_INDIRECT, 0 };
	report("indirect-odd-length", offer(&h0, 1, 1));

	setup(D, A, U);                                     /* indirect inside indirect */
	struct desc *ind = (struct desc *)(page + 1024);
	ind[0] = (struct desc){ DATA + 512, 32, F_INDIRECT, 0 };
	descs()[0] = (struct desc){ DATA, 16, F_INDIRECT, 0 };
	report("nested-indirect", offer(&h0, 1, 1));

	setup(D, A, U);                                     /* indirect table loops */
	ind[0] = (struct desc){ DATA + 512, 16, F_WRITE | F_NEXT, 1 };
	ind[1] = (struct desc){ DATA + 528, 16, F_WRITE | F_NEXT, 0 };
	descs()[0] = (struct desc){ DATA, 32, F_INDIRECT, 0 };
	report("indirect-loop", offer(&h0, 1, 1));

	setup(D, A, U);                                     /* avail idx 1000 ahead */
	descs()[0] = (struct desc){ DATA, 16, F_WRITE, 0 };
	report("avail-index-jump", offer(&h0, 1, 1000));

	setup(0xfee00000ull, A, U);                         /* desc ring on the LAPIC */
	report("ring-outside-ram", offer(&h0, 1, 1));

	/* and a good request still works after all that */
	setup(D, A, U);
	memset(page + 1024, 0, 64);
	descs()[0] = (struct desc){ DATA, 64, F_WRITE, 0 };
	uint32_t st = offer(&h0, 1, 1);
	uint32_t len = *(volatile uint32_t *)(page + 512 + 4 + 4);
	int nonzero = 0;
	for (int i = 0; i < 64; i++)
		nonzero |= page[1024 + i];
	int good = !(st & S_NEEDS_RESET) && *used_idx() == 1 && len > 0 && nonzero;
	printf("hostile %-28s status=0x%02x used=%u len=%u %s\n", "valid-request-after", st,
	       *used_idx(), len, good ? "ok" : "BAD");
	good ? ok++ : bad++;
	wr(R_STATUS, 0);
	printf("HOSTILE-DONE ok=%d bad=%d\n", ok, bad);
	return bad ? 1 : 0;
}
