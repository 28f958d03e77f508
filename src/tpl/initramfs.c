/* initramfs.c - build a VM's initramfs (layout in initramfs.h). */
#include "tpl/initramfs.h"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "tpl/initramfs_cpio.h"
#include "tpl/initramfs_modules.h"

#define MODULES_ROOT "/lib/modules"
#define BINARY_MAX (256u << 20)

/* What a VM of berth needs from the kernel, as module names (a name built
 * into the kernel is fine: ext4 is a module in the generic amd64 kernel,
 * built in in the cloud one). */
static const char *const wanted_modules[] = {
	"virtio_mmio", "virtio_blk", "virtio_net", "virtio_console", "virtio_rng",
	"vmw_vsock_virtio_transport", "button", "evdev", "ext4", NULL,
};

/* /init must run with nothing else in the initramfs: a static x86-64
 * executable (no PT_INTERP). */
static int check_static(const char *path, const uint8_t *d, size_t len, struct err *e)
{
	const Elf64_Ehdr *h = (const void *)d;
	if (len < sizeof(*h) || memcmp(h->e_ident, ELFMAG, SELFMAG) != 0 ||
	    h->e_ident[EI_CLASS] != ELFCLASS64 || h->e_machine != EM_X86_64)
		return err_set(e, ENOEXEC, "%s is not an x86-64 executable; it cannot be a VM's /init", path);
	if (h->e_phentsize != sizeof(Elf64_Phdr) || h->e_phoff > len ||
	    (len - h->e_phoff) / sizeof(Elf64_Phdr) < h->e_phnum)
		return err_set(e, ENOEXEC, "%s has a damaged ELF header", path);
	for (unsigned i = 0; i < h->e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, d + h->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_INTERP)
			return err_exit(e, EXIT_HOST, "%s is dynamically linked; a VM's /init must be static "
					"(build berth with 'make', not a sanitizer build)", path);
	}
	return 0;
}

/* The directories written so far (a short list: the tree is shallow). */
struct dirset {
	char **v;
	size_t n;
};

static void dirset_free(struct dirset *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i]);
	free(d->v);
}

/* A directory entry for dir unless it was written already. */
static int add_dir(struct cpio *c, struct dirset *d, const char *dir, struct err *e)
{
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->v[i], dir))
			return 0;
	char **p = realloc(d->v, (d->n + 1) * sizeof(*p));
	if (!p)
		return err_set(e, ENOMEM, "out of memory");
	d->v = p;
	if (!(p[d->n] = strdup(dir)))
		return err_set(e, ENOMEM, "out of memory");
	d->n++;
	return cpio_add(c, dir, S_IFDIR | 0755, 0, 0, NULL, 0, e);
}

/* Directory entries for every parent of path, before it. */
static int add_parents(struct cpio *c, struct dirset *d, const char *path, struct err *e)
{
	char dir[4096];
	for (const char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
		size_t n = (size_t)(s - path);
		if (n >= sizeof(dir))
			return err_set(e, ENAMETOOLONG, "path %.100s is too long", path);
		memcpy(dir, path, n);
		dir[n] = '\0';
		int r = add_dir(c, d, dir, e);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The modules: lib/modules/<release>/<path> (decompressed) and the list. */
static int add_modules(struct cpio *c, struct dirset *d, const char *release, const struct modlist *l,
		       struct err *e)
{
	size_t list_len = 0;
	char *list = NULL;
	int r = 0;
	for (size_t i = 0; r == 0 && i < l->n; i++) {
		char src[4096], dst[4096];
		snprintf(src, sizeof(src), MODULES_ROOT "/%s/%s", release, l->paths[i]);
		snprintf(dst, sizeof(dst), "lib/modules/%s/%.*s", release, (int)module_plain_len(l->paths[i]),
			 l->paths[i]);
		uint8_t *data;
		size_t len;
		if ((r = module_read(src, &data, &len, e)) < 0)
			break;
		if ((r = add_parents(c, d, dst, e)) == 0)
			r = cpio_add(c, dst, S_IFREG | 0644, 0, 0, data, len, e);
		free(data);
		char *p = realloc(list, list_len + strlen(dst) + 3);
		if (!p) {
			r = err_set(e, ENOMEM, "out of memory");
			break;
		}
		list = p;
		list_len += (size_t)sprintf(list + list_len, "/%s\n", dst);
	}
	if (r == 0 && (r = add_parents(c, d, "lib/berth/modules", e)) == 0)
		r = cpio_add(c, "lib/berth/modules", S_IFREG | 0644, 0, 0, list, list_len, e);
	free(list);
	return r;
}

/* Everything of the archive, written to f. */
static int write_archive(FILE *f, const char *release, const uint8_t *init, size_t init_len,
			 const struct modlist *l, struct err *e)
{
	struct cpio c;
	cpio_init(&c, f);
	static const char *const dirs[] = { "dev", "proc", "sys", "newroot" };
	struct dirset d = { 0 };
	int r = 0;
	for (size_t i = 0; r == 0 && i < sizeof(dirs) / sizeof(dirs[0]); i++)
		r = add_dir(&c, &d, dirs[i], e);
	/* the kernel opens /dev/console for init's stdio before anything is mounted */
	if (r == 0)
		r = cpio_add(&c, "dev/console", S_IFCHR | 0600, 5, 1, NULL, 0, e);
	if (r == 0)
		r = cpio_add(&c, "init", S_IFREG | 0755, 0, 0, init, init_len, e);
	if (r == 0)
		r = add_modules(&c, &d, release, l, e);
	if (r == 0)
		r = cpio_finish(&c, e);
	dirset_free(&d);
	return r;
}

/* A kernel release that names a directory in /lib/modules, nothing else. */
static int release_ok(const char *r)
{
	return r[0] && r[0] != '.' && !strchr(r, '/') && strlen(r) < 128;
}

int initramfs_build(const char *kernel_release, const char *berth_binary, const char *out_path,
		    struct err *e)
{
	if (!release_ok(kernel_release))
		return err_exit(e, EXIT_USAGE, "bad kernel release '%.60s'", kernel_release);
	char moddir[256];
	snprintf(moddir, sizeof(moddir), MODULES_ROOT "/%s", kernel_release);
	if (!path_exists(moddir))
		return err_exit(e, EXIT_HOST, "no modules of kernel %s in %s; install its linux-image "
				"package or give another --kernel-release", kernel_release, moddir);
	char *init;
	size_t init_len;
	int r = read_file(berth_binary, BINARY_MAX, &init, &init_len, e);
	if (r < 0)
		return r;
	struct modlist l;
	if ((r = check_static(berth_binary, (const uint8_t *)init, init_len, e)) < 0 ||
	    (r = modlist_resolve(moddir, wanted_modules, &l, e)) < 0) {
		free(init);
		return r;
	}
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", out_path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		r = err_sys(e, errno, "create %s", tmp);
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
	} else {
		r = write_archive(f, kernel_release, (const uint8_t *)init, init_len, &l, e);
		if (r == 0 && (fflush(f) != 0 || fchmod(fd, 0644) < 0 || fsync(fd) < 0))
			r = err_sys(e, errno, "write %s", tmp);
		if (fclose(f) != 0 && r == 0)
			r = err_sys(e, errno, "write %s", tmp);
		if (r == 0 && rename(tmp, out_path) < 0)
			r = err_sys(e, errno, "rename %s to %s", tmp, out_path);
		if (r < 0)
			unlink(tmp);
	}
	if (r == 0) { /* the rename is durable once the directory is synced */
		char dir[4096];
		snprintf(dir, sizeof(dir), "%s", out_path);
		char *slash = strrchr(dir, '/');
		if (slash)
			*(slash == dir ? slash + 1 : slash) = '\0';
		int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	modlist_free(&l);
	free(init);
	return r;
}

int initramfs_newest_release(const char *suffix, char *out, size_t len, struct err *e)
{
	DIR *d = opendir(MODULES_ROOT);
	if (!d)
		return err_sys(e, errno, "open " MODULES_ROOT);
	out[0] = '\0';
	struct dirent *de;
	size_t sl = strlen(suffix);
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n <= sl || strcmp(de->d_name + n - sl, suffix) || !release_ok(de->d_name) || n >= len)
			continue;
		if (!out[0] || strverscmp(de->d_name, out) > 0)
			snprintf(out, len, "%s", de->d_name);
	}
	closedir(d);
	if (!out[0])
		return err_exit(e, EXIT_HOST, "no kernel modules in " MODULES_ROOT "/*%s; install "
				"linux-image-cloud-amd64 or give --kernel-release", suffix);
	return 0;
}
