/*
 * mkstore-image: the host tool for capOS's capnp-native storage images.
 *
 *   mkstore-image build [options] SRCDIR IMAGE   CAPOSVOL image: Store + WF
 *   mkstore-image list IMAGE                     volume, Store records, WF tree
 *   mkstore-image check IMAGE                    st_check + wf_check, every problem
 *   mkstore-image ro1 build|list|check ...       CAPOSRO1 (ro1_cmd.c)
 *
 * build: regular files and directories under SRCDIR go to the WF region;
 * the files under SRCDIR/records/ (or -r DIR) become Store records whose key
 * is the path below records/ and whose value is the file's bytes (capnp
 * messages, stored opaque). Anything else (symlinks, devices) fails the
 * build. Options: -b 512|4096 block size, -s MiB image size (default: fit
 * the content with headroom), -i inodes, -x extents, -e store entries,
 * -d store data bytes per area. WF times come from the files' mtimes
 * (clamped to SOURCE_DATE_EPOCH when set, for reproducible images).
 * The image is written through the same libraries the services use
 * (lib/store, lib/wfs), so host tool and system share one format definition.
 */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "store/store.h"
#include "wfs/vol.h"
#include "wfs/wfs.h"
#ifdef MKSTORE_HAVE_RO1
#include "ro1_cmd.h"
#endif

static const char *prog = "mkstore-image";

/* ---- image file as a block device ------------------------------------- */

struct fdev {
	struct blk_dev dev;
	int fd;
};

static int
fdev_read(struct blk_dev *d, uint64_t lba, uint32_t count, void *buf)
{
	struct fdev *f = d->ctx;
	size_t n = (size_t)count * d->block_size;

	if (lba > d->block_count || count > d->block_count - lba)
		return E_RANGE;
	return pread(f->fd, buf, n, (off_t)(lba * d->block_size)) == (ssize_t)n ? 0 : E_IO;
}

static int
fdev_write(struct blk_dev *d, uint64_t lba, uint32_t count, const void *buf)
{
	struct fdev *f = d->ctx;
	size_t n = (size_t)count * d->block_size;

	if (lba > d->block_count || count > d->block_count - lba)
		return E_RANGE;
	return pwrite(f->fd, buf, n, (off_t)(lba * d->block_size)) == (ssize_t)n ? 0 : E_IO;
}

static int
fdev_flush(struct blk_dev *d)
{
	struct fdev *f = d->ctx;

	return fdatasync(f->fd) == 0 ? 0 : E_IO;
}

static void
fdev_init(struct fdev *f, int fd, uint32_t bs, uint64_t blocks)
{
	f->fd = fd;
	f->dev.block_size = bs;
	f->dev.block_count = blocks;
	f->dev.read = fdev_read;
	f->dev.write = fdev_write;
	f->dev.flush = fdev_flush;
	f->dev.ctx = f;
}

/* Open an existing image; the block size comes from the volume header. */
static int
fdev_open(struct fdev *f, const char *path)
{
	struct wf_vol_disk h;
	struct stat sb;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &sb) < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		return -1;
	}
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    memcmp(h.magic, WF_VOL_MAGIC, 8) != 0 ||
	    (h.block_size != 512 && h.block_size != 4096)) {
		fprintf(stderr, "%s: %s: not a CAPOSVOL image (bad magic or block size)\n", prog, path);
		close(fd);
		return -1;
	}
	fdev_init(f, fd, h.block_size, (uint64_t)sb.st_size / h.block_size);
	return 0;
}

/* ---- build ------------------------------------------------------------ */

struct entry {
	char *rel;          /* path relative to SRCDIR, "/a/b" */
	int is_dir;
	off_t size;
	uint64_t mtime_ns;
};

struct tree {
	struct entry *e;
	size_t n, cap;
	uint64_t bytes;
};

static uint64_t clamp_ns = UINT64_MAX;
static uint64_t tool_now;

static uint64_t
tool_clock(void *ctx)
{
	(void)ctx;
	return tool_now;
}

static int
scan(struct tree *t, const char *root, const char *rel, int depth, const char *skip)
{
	char path[4096];
	DIR *d;
	struct dirent *de;

	if (depth > 64) {
		fprintf(stderr, "%s: %s%s: directory nesting too deep\n", prog, root, rel);
		return -1;
	}
	snprintf(path, sizeof(path), "%s%s", root, rel);
	d = opendir(path);
	if (!d) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char r2[4096], full[8192];
		struct stat sb;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(r2, sizeof(r2), "%s/%s", rel, de->d_name);
		if (skip && strcmp(r2, skip) == 0)
			continue;
		snprintf(full, sizeof(full), "%s%s", root, r2);
		if (lstat(full, &sb) < 0) {
			fprintf(stderr, "%s: %s: %s\n", prog, full, strerror(errno));
			closedir(d);
			return -1;
		}
		if (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)) {
			fprintf(stderr, "%s: %s: not a regular file or directory\n", prog, full);
			closedir(d);
			return -1;
		}
		if (t->n == t->cap) {
			t->cap = t->cap ? 2 * t->cap : 64;
			t->e = realloc(t->e, t->cap * sizeof(*t->e));
		}
		t->e[t->n].rel = strdup(r2);
		t->e[t->n].is_dir = S_ISDIR(sb.st_mode);
		t->e[t->n].size = sb.st_size;
		t->e[t->n].mtime_ns = (uint64_t)sb.st_mtim.tv_sec * 1000000000ull +
		    (uint64_t)sb.st_mtim.tv_nsec;
		if (t->e[t->n].mtime_ns > clamp_ns)
			t->e[t->n].mtime_ns = clamp_ns;
		t->n++;
		if (S_ISDIR(sb.st_mode)) {
			if (scan(t, root, r2, depth + 1, skip) < 0) {
				closedir(d);
				return -1;
			}
		} else {
			t->bytes += (uint64_t)sb.st_size;
		}
	}
	closedir(d);
	return 0;
}

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->rel, ((const struct entry *)b)->rel);
}

static void
tree_free(struct tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->e[i].rel);
	free(t->e);
}

static int
copy_file(struct wf_fs *fs, const char *src, const struct entry *e)
{
	static uint8_t buf[1 << 20];
	int fd = open(src, O_RDONLY), h, r = 0;
	ssize_t n;

	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, src, strerror(errno));
		return -1;
	}
	tool_now = e->mtime_ns;
	r = wf_create(fs, e->rel);
	h = r < 0 ? r : wf_open(fs, e->rel, WF_O_WRITE);
	if (h < 0) {
		fprintf(stderr, "%s: %s: wf: %s (%s)\n", prog, e->rel, err_name(h), wf_last_limit(fs));
		close(fd);
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		r = wf_append(fs, h, buf, (size_t)n);
		if (r < 0)
			break;
	}
	close(fd);
	if (r < 0 || n < 0) {
		fprintf(stderr, "%s: %s: write: %s (limit: %s)\n", prog, e->rel,
		    n < 0 ? strerror(errno) : err_name(r), wf_last_limit(fs));
		return -1;
	}
	r = wf_close(fs, h);
	if (r < 0) {
		fprintf(stderr, "%s: %s: commit: %s\n", prog, e->rel, err_name(r));
		return -1;
	}
	return 0;
}

static int
put_record(struct st_ns *ns, const char *src, const char *key)
{
	uint8_t *buf = malloc(ST_VAL_MAX + 1);
	int fd = open(src, O_RDONLY), r;
	ssize_t n = -1;

	if (fd >= 0)
		n = read(fd, buf, ST_VAL_MAX + 1);
	if (fd < 0 || n < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, src, strerror(errno));
		r = -1;
	} else if (n > (ssize_t)ST_VAL_MAX) {
		fprintf(stderr, "%s: %s: record larger than ST_VAL_MAX (%u bytes)\n", prog, src,
		    ST_VAL_MAX);
		r = -1;
	} else if ((r = st_put(ns, key, buf, (uint32_t)n)) < 0) {
		fprintf(stderr, "%s: record %s: %s (limit: %s)\n", prog, key, err_name(r),
		    st_last_limit(ns->st));
		r = -1;
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	return r;
}

static int
usage(void)
{
	fprintf(stderr,
	    "usage: %s build [-b 512|4096] [-s MiB] [-r RECORDS_DIR] [-i inodes] [-x extents]\n"
	    "                  [-e store_entries] [-d store_data_bytes] SRCDIR IMAGE\n"
	    "       %s list IMAGE\n"
	    "       %s check IMAGE\n"
	    "       %s ro1 build SRCDIR IMAGE | ro1 list IMAGE | ro1 check IMAGE\n",
	    prog, prog, prog, prog);
	return 2;
}

static int
cmd_build(int argc, char **argv)
{
	uint32_t bs = 4096, inodes = 0, extents = 0, entries = 0;
	uint64_t size_mib = 0, data_bytes = 0, st_blocks, blocks, st_bytes;
	const char *recdir = NULL, *src, *img;
	struct tree wt = { 0 }, rt = { 0 };
	char recdefault[4096], skip[4096] = "";
	struct stat sb;
	struct fdev fd;
	struct wf_vol v;
	struct st st;
	struct st_ns ns;
	struct wf_fs fs;
	struct st_geom sg;
	struct wf_geom wg;
	void *arena = NULL;
	size_t need;
	int opt, rc = 1, ifd;
	const char *sde = getenv("SOURCE_DATE_EPOCH");

	optind = 1;
	while ((opt = getopt(argc, argv, "b:s:r:i:x:e:d:")) != -1) {
		switch (opt) {
		case 'b': bs = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 's': size_mib = strtoull(optarg, NULL, 0); break;
		case 'r': recdir = optarg; break;
		case 'i': inodes = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'x': extents = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'e': entries = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'd': data_bytes = strtoull(optarg, NULL, 0); break;
		default: return usage();
		}
	}
	if (argc - optind != 2 || (bs != 512 && bs != 4096))
		return usage();
	src = argv[optind];
	img = argv[optind + 1];
	if (sde)
		clamp_ns = strtoull(sde, NULL, 10) * 1000000000ull;
	if (!recdir) {
		snprintf(recdefault, sizeof(recdefault), "%s/records", src);
		if (stat(recdefault, &sb) == 0 && S_ISDIR(sb.st_mode))
			recdir = recdefault;
	}
	/* a records tree inside SRCDIR goes to the Store only, not also to WF */
	if (recdir) {
		char *rs = realpath(src, NULL), *rr = realpath(recdir, NULL);
		size_t n = rs ? strlen(rs) : 0;

		if (rs && rr && strncmp(rr, rs, n) == 0 && rr[n] == '/')
			snprintf(skip, sizeof(skip), "%s", rr + n);
		free(rs);
		free(rr);
	}
	if (scan(&wt, src, "", 0, skip[0] ? skip : NULL) < 0)
		goto out;
	if (recdir && scan(&rt, recdir, "", 0, NULL) < 0)
		goto out;
	qsort(wt.e, wt.n, sizeof(*wt.e), cmp_entry);
	qsort(rt.e, rt.n, sizeof(*rt.e), cmp_entry);
	/* geometry: fit the content with headroom */
	if (!inodes)
		inodes = (uint32_t)(wt.n + 1 < 256 ? 1024 : 4 * (wt.n + 1));
	if (!extents)
		extents = 4 * inodes;
	if (!entries)
		entries = (uint32_t)(rt.n < 256 ? 1024 : 4 * rt.n);
	if (!data_bytes)
		data_bytes = 2 * rt.bytes + (uint64_t)rt.n * ST_KEY_MAX + (1u << 20);
	st_bytes = 2 * ((uint64_t)entries * ST_ENTRY_SIZE + data_bytes) + 4 * bs;
	st_blocks = (st_bytes + bs - 1) / bs + 2;
	if (size_mib)
		blocks = (size_mib << 20) / bs;
	else
		blocks = st_blocks + 1 + 2 * (((uint64_t)inodes * WF_INODE_SIZE +
		    (uint64_t)extents * WF_EXTENT_SIZE) / bs + 4) +
		    (wt.bytes + wt.bytes / 4 + (uint64_t)wt.n * bs) / bs + (8u << 20) / bs;
	ifd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (ifd < 0 || posix_fallocate(ifd, 0, (off_t)(blocks * bs)) != 0) {
		fprintf(stderr, "%s: %s: cannot create %llu-byte image\n", prog, img,
		    (unsigned long long)(blocks * bs));
		goto out;
	}
	fdev_init(&fd, ifd, bs, blocks);
	sg.table_entries = entries;
	sg.data_bytes = data_bytes;
	wg.inode_count = inodes;
	wg.extent_count = extents;
	if (wf_vol_format(&fd.dev, st_blocks) < 0 || wf_vol_open(&v, &fd.dev) < 0 ||
	    st_format(&v.st.dev, &sg) < 0 || wf_format(&v.wf.dev, &wg, clamp_ns == UINT64_MAX ? 0 : clamp_ns) < 0) {
		fprintf(stderr, "%s: %s: image too small for the requested geometry\n", prog, img);
		goto out_close;
	}
	if (st_arena_need(&v.st.dev, &need) < 0 || !(arena = malloc(need)) ||
	    st_mount(&st, &v.st.dev, arena, need) < 0) {
		fprintf(stderr, "%s: store mount failed\n", prog);
		goto out_close;
	}
	st_ns_root(&st, &ns);
	for (size_t i = 0; i < rt.n; i++) {
		char full[8192];

		if (rt.e[i].is_dir)
			continue;
		snprintf(full, sizeof(full), "%s%s", recdir, rt.e[i].rel);
		if (put_record(&ns, full, rt.e[i].rel + 1) < 0)
			goto out_close;
	}
	free(arena);
	arena = NULL;
	if (wf_arena_need(&v.wf.dev, &need) < 0 || !(arena = malloc(need)) ||
	    wf_mount(&fs, &v.wf.dev, arena, need, tool_clock, NULL) < 0) {
		fprintf(stderr, "%s: wf mount failed\n", prog);
		goto out_close;
	}
	for (size_t i = 0; i < wt.n; i++) {
		char full[8192];
		int r;

		snprintf(full, sizeof(full), "%s%s", src, wt.e[i].rel);
		if (wt.e[i].is_dir) {
			tool_now = wt.e[i].mtime_ns;
			r = wf_mkdir(&fs, wt.e[i].rel);
			if (r < 0) {
				fprintf(stderr, "%s: %s: mkdir: %s (limit: %s)\n", prog, wt.e[i].rel,
				    err_name(r), wf_last_limit(&fs));
				goto out_close;
			}
		} else if (copy_file(&fs, full, &wt.e[i]) < 0) {
			goto out_close;
		}
	}
	{
		size_t nrec = 0;

		for (size_t i = 0; i < rt.n; i++)
			nrec += !rt.e[i].is_dir;
		printf("%s: %s: %llu blocks of %u B; store: %zu records; wf: %zu entries, %llu bytes\n",
		    prog, img, (unsigned long long)blocks, bs, nrec, wt.n,
		    (unsigned long long)wt.bytes);
	}
	rc = 0;
out_close:
	close(ifd);
out:
	free(arena);
	tree_free(&wt);
	tree_free(&rt);
	return rc;
}

/* ---- list ------------------------------------------------------------- */

static void
list_dir(struct wf_fs *fs, const char *dir, int depth)
{
	struct wf_dirent de;
	uint32_t cur = 0;

	if (depth > 64)
		return;
	while (wf_list(fs, dir, &cur, &de) == 1) {
		char path[WF_PATH_MAX + 2];
		struct wf_stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, de.name);
		if (wf_stat(fs, path, &st) < 0)
			continue;
		printf("wf    %s %12llu  mtime=%llu  %s%s\n", st.type == WF_T_DIR ? "dir " : "file",
		    (unsigned long long)st.size, (unsigned long long)(st.mtime / 1000000000ull),
		    path, st.type == WF_T_DIR ? "/" : "");
		if (st.type == WF_T_DIR)
			list_dir(fs, path, depth + 1);
	}
}

static int
open_vol(const char *img, struct fdev *fd, struct wf_vol *v)
{
	int r;

	if (fdev_open(fd, img) < 0)
		return -1;
	r = wf_vol_open(v, &fd->dev);
	if (r < 0) {
		fprintf(stderr, "%s: %s: %s: %s\n", prog, img, err_name(r), v->why);
		close(fd->fd);
		return -1;
	}
	return 0;
}

static int
cmd_list(int argc, char **argv)
{
	struct fdev fd;
	struct wf_vol v;
	struct st st;
	struct st_ns ns;
	struct wf_fs fs;
	struct st_usage u;
	struct wf_statfs sf;
	char key[ST_KEY_MAX + 1];
	uint64_t cur = 0;
	void *arena;
	size_t need;
	int r, rc = 0;

	if (argc != 2)
		return usage();
	if (open_vol(argv[1], &fd, &v) < 0)
		return 1;
	printf("volume block_size=%u blocks=%llu store=[%llu,+%llu) wf=[%llu,+%llu)\n",
	    v.hdr.block_size, (unsigned long long)v.hdr.device_blocks,
	    (unsigned long long)v.hdr.st_start, (unsigned long long)v.hdr.st_blocks,
	    (unsigned long long)v.hdr.wf_start, (unsigned long long)v.hdr.wf_blocks);
	if ((r = st_arena_need(&v.st.dev, &need)) < 0 || !(arena = malloc(need)) ||
	    (r = st_mount(&st, &v.st.dev, arena, need)) < 0) {
		fprintf(stderr, "%s: store: %s\n", prog, err_name(r));
		rc = 1;
	} else {
		uint8_t *val = malloc(ST_VAL_MAX);

		st_usage(&st, &u);
		printf("store gen=%llu records=%llu entries=%llu/%llu data=%llu/%llu\n",
		    (unsigned long long)u.gen, (unsigned long long)u.records,
		    (unsigned long long)u.entries, (unsigned long long)u.entry_cap,
		    (unsigned long long)u.data_used, (unsigned long long)u.data_cap);
		st_ns_root(&st, &ns);
		while ((r = st_list(&ns, &cur, key, sizeof(key))) > 0)
			printf("store %12d  %s\n", st_get(&ns, key, val, ST_VAL_MAX), key);
		free(val);
		free(arena);
	}
	if ((r = wf_arena_need(&v.wf.dev, &need)) < 0 || !(arena = malloc(need)) ||
	    (r = wf_mount(&fs, &v.wf.dev, arena, need, NULL, NULL)) < 0) {
		fprintf(stderr, "%s: wf: %s\n", prog, err_name(r));
		rc = 1;
	} else {
		wf_statfs(&fs, &sf);
		printf("wf gen=%llu data_blocks=%llu free_blocks=%llu inodes_free=%u extents_free=%u\n",
		    (unsigned long long)fs.sb.gen, (unsigned long long)sf.data_blocks,
		    (unsigned long long)sf.free_blocks, sf.inodes_free, sf.extents_free);
		list_dir(&fs, "", 0);
		free(arena);
	}
	close(fd.fd);
	return rc;
}

/* ---- check ------------------------------------------------------------ */

static void
st_report(void *ctx, const struct st_problem *p)
{
	(*(int *)ctx)++;
	printf("store: %s: %s (%llu, %llu)\n", err_name(p->code), p->what,
	    (unsigned long long)p->a, (unsigned long long)p->b);
}

static void
wf_report(void *ctx, const struct wf_problem *p)
{
	(*(int *)ctx)++;
	printf("wf: %s: %s (%llu, %llu)\n", err_name(p->code), p->what,
	    (unsigned long long)p->a, (unsigned long long)p->b);
}

static int
cmd_check(int argc, char **argv)
{
	struct fdev fd;
	struct wf_vol v;
	size_t need = 0;
	void *arena;
	int n = 0, r;

	if (argc != 2)
		return usage();
	if (open_vol(argv[1], &fd, &v) < 0)
		return 1;
	r = st_arena_need(&v.st.dev, &need);
	arena = malloc(need ? need : 1);
	r = st_check(&v.st.dev, arena, need, st_report, &n);
	if (r < 0) {
		printf("store: %s: unreadable\n", err_name(r));
		n++;
	}
	free(arena);
	need = 0;
	r = wf_arena_need(&v.wf.dev, &need);
	arena = malloc(need ? need : 1);
	r = wf_check(&v.wf.dev, arena, need, wf_report, &n);
	if (r < 0) {
		printf("wf: %s: unreadable\n", err_name(r));
		n++;
	}
	free(arena);
	close(fd.fd);
	printf("%s: %s: %d problem%s\n", prog, argv[1], n, n == 1 ? "" : "s");
	return n ? 1 : 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "build") == 0)
		return cmd_build(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return cmd_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "ro1") == 0) {
#ifdef MKSTORE_HAVE_RO1
		if (argc >= 3 && strcmp(argv[2], "build") == 0)
			return ro1_cmd_build(argc - 2, argv + 2);
		if (argc >= 3 && strcmp(argv[2], "list") == 0)
			return ro1_cmd_list(argc - 2, argv + 2);
		if (argc >= 3 && strcmp(argv[2], "check") == 0)
			return ro1_cmd_check(argc - 2, argv + 2);
		return usage();
#else
		fprintf(stderr, "%s: built without CAPOSRO1 support\n", prog);
		return 2;
#endif
	}
	return usage();
}
