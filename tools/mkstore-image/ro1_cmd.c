/*
 * Host side of CAPOSRO1: turn a directory tree into an image with the same
 * builder the tests use (lib/ro1/ro1_build.c), list an image, and check one
 * with the library's fsck (ro1_check), printing every problem it reports.
 *
 * Only regular files and directories are shipped; anything else (symlinks,
 * devices, sockets) makes the build fail rather than silently vanish. If
 * SOURCE_DATE_EPOCH is set, later mtimes are clamped to it so that builds are
 * reproducible.
 */
#include "ro1_cmd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "ro1/ro1.h"

struct host_tree {
	struct ro1_src_node *nodes;
	char **paths;
	uint32_t count, cap;
	int fd;                 /* open file for the last node read */
	uint32_t fd_node;
	int64_t clamp;          /* SOURCE_DATE_EPOCH or -1 */
	dev_t out_dev;          /* the image being written, if it lies inside the tree */
	ino_t out_ino;
	const char *prog;
};

static int
tree_add(struct host_tree *t, const char *path, const char *name, const struct stat *st)
{
	if (t->count == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 64;
		if (cap > RO1_MAX_ENTRIES + 1)
			cap = RO1_MAX_ENTRIES + 1;
		if (t->count >= cap) {
			fprintf(stderr, "%s: more than %u entries (RO1_MAX_ENTRIES)\n", t->prog, RO1_MAX_ENTRIES);
			return -1;
		}
		struct ro1_src_node *n = realloc(t->nodes, cap * sizeof(*n));
		if (n == NULL)
			return -1;
		t->nodes = n;
		char **p = realloc(t->paths, cap * sizeof(*p));
		if (p == NULL)
			return -1;
		t->paths = p;
		t->cap = cap;
	}
	struct ro1_src_node *n = &t->nodes[t->count];
	memset(n, 0, sizeof(*n));
	t->paths[t->count] = strdup(path);
	n->name = strdup(name);
	if (t->paths[t->count] == NULL || n->name == NULL)
		return -1;
	n->name_len = (uint32_t)strlen(name);
	n->kind = S_ISDIR(st->st_mode) ? RO1_KIND_DIR : RO1_KIND_FILE;
	n->flags = (!S_ISDIR(st->st_mode) && (st->st_mode & 0111)) ? RO1_FLAG_EXEC : 0;
	n->size = S_ISDIR(st->st_mode) ? 0 : (uint64_t)st->st_size;
	n->mtime_sec = st->st_mtim.tv_sec;
	n->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	if (t->clamp >= 0 && n->mtime_sec > t->clamp) {
		n->mtime_sec = t->clamp;
		n->mtime_nsec = 0;
	}
	return (int)t->count++;
}

/* Add the children of directory node `dir` (at `path`), recursively. */
static int
tree_scan(struct host_tree *t, uint32_t dir, const char *path, unsigned depth)
{
	if (depth > RO1_DEPTH_MAX) {
		fprintf(stderr, "%s: %s: deeper than %u levels (RO1_DEPTH_MAX)\n", t->prog, path, RO1_DEPTH_MAX);
		return -1;
	}
	DIR *d = opendir(path);
	if (d == NULL) {
		fprintf(stderr, "%s: %s: %s\n", t->prog, path, strerror(errno));
		return -1;
	}
	uint32_t *kids = NULL, nkids = 0;
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char *child;
		struct stat st;
		size_t clen = strlen(path) + strlen(de->d_name) + 2;
		if ((child = malloc(clen)) == NULL) {
			rc = -1;
			break;
		}
		snprintf(child, clen, "%s/%s", path, de->d_name);
		if (lstat(child, &st) != 0 || (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))) {
			fprintf(stderr, "%s: %s: not a regular file or directory\n", t->prog, child);
			free(child);
			rc = -1;
			break;
		}
		if (st.st_dev == t->out_dev && st.st_ino == t->out_ino) {
			free(child); /* the image itself: never ship it inside itself */
			continue;
		}
		if (strlen(de->d_name) > RO1_NAME_MAX) {
			fprintf(stderr, "%s: %s: name longer than %u bytes (RO1_NAME_MAX)\n", t->prog, child, RO1_NAME_MAX);
			free(child);
			rc = -1;
			break;
		}
		int idx = tree_add(t, child, de->d_name, &st);
		uint32_t *k = idx < 0 ? NULL : realloc(kids, (nkids + 1) * sizeof(*kids));
		if (k == NULL) {
			free(child);
			rc = -1;
			break;
		}
		kids = k;
		kids[nkids++] = (uint32_t)idx;
		if (S_ISDIR(st.st_mode) && tree_scan(t, (uint32_t)idx, child, depth + 1) < 0) {
			free(child);
			rc = -1;
			break;
		}
		free(child);
	}
	closedir(d);
	t->nodes[dir].children = kids;
	t->nodes[dir].child_count = nkids;
	return rc;
}

static int
tree_read(void *ctx, uint32_t node, uint64_t off, void *buf, size_t len)
{
	struct host_tree *t = ctx;
	if (t->fd < 0 || t->fd_node != node) {
		if (t->fd >= 0)
			close(t->fd);
		t->fd = open(t->paths[node], O_RDONLY);
		if (t->fd < 0) {
			fprintf(stderr, "%s: %s: %s\n", t->prog, t->paths[node], strerror(errno));
			return E_IO;
		}
		t->fd_node = node;
	}
	ssize_t n = pread(t->fd, buf, len, (off_t)off);
	if (n != (ssize_t)len) {
		fprintf(stderr, "%s: %s: short read (file changed?)\n", t->prog, t->paths[node]);
		return E_IO;
	}
	return 0;
}

static int
file_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	int fd = *(int *)ctx;
	return pwrite(fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : E_IO;
}

static int
file_flush(void *ctx)
{
	return fsync(*(int *)ctx) == 0 ? 0 : E_IO;
}

static void
tree_free(struct host_tree *t)
{
	for (uint32_t i = 0; i < t->count; i++) {
		free(t->paths[i]);
		free((char *)t->nodes[i].name);
		free(t->nodes[i].children);
	}
	free(t->paths);
	free(t->nodes);
	if (t->fd >= 0)
		close(t->fd);
}

int
ro1_cmd_build(int argc, char **argv)
{
	const char *prog = "mkstore-image ro1 build";
	struct host_tree t = { .fd = -1, .clamp = -1, .prog = prog };
	struct stat st;
	int rc = 1, out = -1;
	uint32_t *order = NULL;

	if (argc != 3) {
		fprintf(stderr, "usage: mkstore-image ro1 build SRCDIR IMAGE\n");
		return 2;
	}
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	if (sde != NULL && *sde != '\0')
		t.clamp = strtoll(sde, NULL, 10);
	if (stat(argv[1], &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "%s: %s: not a directory\n", prog, argv[1]);
		return 1;
	}
	struct stat ost;
	out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, argv[2], strerror(errno));
		goto out_free;
	}
	if (fstat(out, &ost) != 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, argv[2], strerror(errno));
		goto out_fail;
	}
	t.out_dev = ost.st_dev;
	t.out_ino = ost.st_ino;
	if (tree_add(&t, argv[1], "", &st) < 0 || tree_scan(&t, 0, argv[1], 1) < 0)
		goto out_fail;
	order = calloc(t.count, sizeof(*order));
	if (order == NULL)
		goto out_fail;
	static struct ro1_builder b;
	struct ro1_src src = { t.nodes, t.count, tree_read, &t };
	struct ro1_sink sink = { file_write, file_flush, &out };
	uint64_t size;
	int r = ro1_build(&b, &src, order, &sink, &size);
	if (r < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, argv[2], err_name(r));
		goto out_fail;
	}
	printf("%s: %u entries, %llu bytes\n", argv[2], t.count, (unsigned long long)size);
	rc = 0;
out_fail:
	if (rc != 0)
		unlink(argv[2]); /* never leave a half-written image behind */
	close(out);
out_free:
	free(order);
	tree_free(&t);
	return rc;
}

/* A read-only struct blk_dev over an image file (512-byte blocks). */
struct file_dev {
	struct blk_dev dev;
	int fd;
};

static int
fdev_read(struct blk_dev *dev, uint64_t lba, uint32_t count, void *buf)
{
	struct file_dev *f = dev->ctx;
	if (lba > dev->block_count || count > dev->block_count - lba)
		return E_RANGE;
	size_t len = (size_t)count * dev->block_size;
	return pread(f->fd, buf, len, (off_t)(lba * dev->block_size)) == (ssize_t)len ? 0 : E_IO;
}

static int
fdev_write(struct blk_dev *dev, uint64_t lba, uint32_t count, const void *buf)
{
	return E_PERM;
}

static int
fdev_flush(struct blk_dev *dev)
{
	return 0;
}

static int
fdev_open(struct file_dev *f, const char *prog, const char *path)
{
	struct stat st;
	f->fd = open(path, O_RDONLY);
	if (f->fd < 0 || fstat(f->fd, &st) != 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		if (f->fd >= 0)
			close(f->fd);
		return -1;
	}
	f->dev = (struct blk_dev){ 512, (uint64_t)st.st_size / 512, fdev_read, fdev_write, fdev_flush, f };
	return 0;
}

static int
list_dir(struct ro1_vol *v, uint32_t dir, char *path, size_t plen, unsigned depth)
{
	char name[RO1_NAME_MAX + 1];
	struct ro1_stat st;
	uint32_t cur = 0;
	int r;

	if (depth > RO1_DEPTH_MAX)
		return E_LIMIT;
	while ((r = ro1_readdir(v, dir, &cur, name, &st)) == 1) {
		size_t n = strlen(name);
		if (plen + 1 + n >= RO1_PATH_MAX + 1)
			return E_LIMIT;
		path[plen] = '/';
		memcpy(path + plen + 1, name, n + 1);
		char kind = st.kind == RO1_KIND_DIR ? 'd' : (st.flags & RO1_FLAG_EXEC) ? 'x' : 'f';
		printf("%c %12llu %lld.%09u %s\n", kind, (unsigned long long)st.size, (long long)st.mtime_sec,
		       st.mtime_nsec, path);
		if (st.kind == RO1_KIND_DIR && (r = list_dir(v, st.ino, path, plen + 1 + n, depth + 1)) < 0)
			return r;
		path[plen] = '\0';
	}
	return r;
}

int
ro1_cmd_list(int argc, char **argv)
{
	const char *prog = "mkstore-image ro1 list";
	static struct ro1_vol v;
	static char path[RO1_PATH_MAX + 2];
	struct file_dev f;

	if (argc != 2) {
		fprintf(stderr, "usage: mkstore-image ro1 list IMAGE\n");
		return 2;
	}
	if (fdev_open(&f, prog, argv[1]) < 0)
		return 1;
	int r = ro1_mount(&v, &f.dev);
	if (r == 0) {
		path[0] = '\0';
		r = list_dir(&v, RO1_ROOT, path, 0, 1);
	}
	close(f.fd);
	if (r < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, argv[1], err_name(r));
		return 1;
	}
	return 0;
}

struct check_ctx {
	const char *image;
};

static int
check_report(void *ctx, int err, uint32_t ino, const char *what)
{
	struct check_ctx *c = ctx;
	if (ino == UINT32_MAX)
		printf("%s: image: %s (%s)\n", c->image, what, err_name(err));
	else
		printf("%s: entry %u: %s (%s)\n", c->image, ino, what, err_name(err));
	return 0;
}

int
ro1_cmd_check(int argc, char **argv)
{
	const char *prog = "mkstore-image ro1 check";
	static struct ro1_vol v;
	struct file_dev f;

	if (argc != 2) {
		fprintf(stderr, "usage: mkstore-image ro1 check IMAGE\n");
		return 2;
	}
	if (fdev_open(&f, prog, argv[1]) < 0)
		return 1;
	struct check_ctx c = { argv[1] };
	int n = ro1_check(&v, &f.dev, check_report, &c);
	close(f.fd);
	if (n < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, argv[1], err_name(n));
		return 1;
	}
	if (n > 0) {
		printf("%s: %d problem%s\n", argv[1], n, n == 1 ? "" : "s");
		return 1;
	}
	printf("%s: clean, %u entries, %llu data bytes\n", argv[1], v.sb.entry_count,
	       (unsigned long long)v.sb.data_len);
	return 0;
}
