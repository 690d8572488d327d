/*
 * libFuzzer target: the CAPOSRO1 builder against its own reader. The input
 * describes a tree (below); whatever ro1_build accepts must mount, pass
 * ro1_check with zero problems, and give every file back byte for byte by
 * path. Anything else aborts, which libFuzzer reports as a crash.
 *
 * Input: records of  u8 sel, u8 name_len, name bytes, u16 size
 *   sel bit 0: directory; sel >> 1: parent, as an index among the directories so far
 * Names are taken raw, so the builder's name rules (NUL, '/', ".", "..",
 * duplicates) are exercised too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "ro1/ro1.h"

#define MAXN 64

static struct ro1_src_node nodes[MAXN];
static uint32_t kids[MAXN][MAXN];
static uint32_t parent[MAXN];
static uint32_t order[MAXN];
static uint8_t img[MAXN * 70000 + (1u << 16)];
static uint64_t img_cap;

static int
src_read(void *ctx, uint32_t node, uint64_t off, void *buf, size_t len)
{
	uint8_t *b = buf;
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)((off + i) * 13 + node);
	return 0;
}

static int
sink_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	if (off > img_cap || len > img_cap - off)
		return E_NOSPC;
	memcpy(img + off, buf, len);
	return 0;
}

static int
dev_read(struct blk_dev *dev, uint64_t lba, uint32_t count, void *buf)
{
	if (lba > dev->block_count || count > dev->block_count - lba)
		return E_RANGE;
	memcpy(buf, img + lba * dev->block_size, (size_t)count * dev->block_size);
	return 0;
}

static int
dev_write(struct blk_dev *dev, uint64_t lba, uint32_t count, const void *buf)
{
	return E_PERM;
}

static int
dev_flush(struct blk_dev *dev)
{
	return 0;
}

static int
no_problems(void *ctx, int err, uint32_t ino, const char *what)
{
	abort();
}

/* Path of node i from the root; 0 if it does not fit. */
static size_t
path_of(uint32_t i, char *out, size_t cap)
{
	if (i == 0) {
		out[0] = '\0';
		return 1;
	}
	if (!path_of(parent[i], out, cap))
		return 0;
	size_t n = strlen(out);
	if (n + 1 + nodes[i].name_len + 1 > cap)
		return 0;
	out[n] = '/';
	memcpy(out + n + 1, nodes[i].name, nodes[i].name_len);
	out[n + 1 + nodes[i].name_len] = '\0';
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ro1_builder b;
	static struct ro1_vol v;
	static uint8_t buf[65536];
	uint32_t dirs[MAXN], ndirs = 1, n = 1;
	size_t p = 0;

	memset(nodes, 0, sizeof(nodes));
	nodes[0].kind = RO1_KIND_DIR;
	nodes[0].children = kids[0];
	dirs[0] = 0;
	while (n < MAXN && p + 2 <= size) {
		uint8_t sel = data[p], nl = data[p + 1];
		p += 2;
		if (nl > size - p || size - p - nl < 2)
			break;
		struct ro1_src_node *x = &nodes[n];
		x->name = (const char *)data + p;
		x->name_len = nl;
		p += nl;
		x->kind = (sel & 1) ? RO1_KIND_DIR : RO1_KIND_FILE;
		x->size = (sel & 1) ? 0 : (uint64_t)(data[p] | (data[p + 1] << 8));
		x->mtime_sec = (int64_t)n * 1000;
		x->children = kids[n];
		p += 2;
		uint32_t par = dirs[(sel >> 1) % ndirs];
		parent[n] = par;
		kids[par][nodes[par].child_count++] = n;
		if (sel & 1)
			dirs[ndirs++] = n;
		n++;
	}
	struct ro1_src src = { nodes, n, src_read, NULL };
	struct ro1_sink sink = { sink_write, NULL, NULL };
	uint64_t isz;
	img_cap = sizeof(img);
	if (ro1_build(&b, &src, order, &sink, &isz) < 0)
		return 0;
	struct blk_dev dev = { (data[0] & 1) ? 4096 : 512, 0, dev_read, dev_write, dev_flush, NULL };
	dev.block_count = isz / dev.block_size;
	if (ro1_mount(&v, &dev) != 0 || ro1_check(&v, &dev, no_problems, NULL) != 0)
		abort();
	for (uint32_t i = 0; i < n; i++) {
		char path[4096];
		uint32_t ino;
		struct ro1_stat st;
		if (!path_of(i, path, sizeof(path)))
			continue;
		int r = ro1_lookup(&v, path, &ino);
		if (r == E_LIMIT || r == E_NAME)
			continue; /* deeper than RO1_DEPTH_MAX or a component longer than a lookup takes */
		if (r != 0 || ro1_stat(&v, ino, &st) != 0 || st.kind != nodes[i].kind ||
		    st.mtime_sec != (int64_t)i * 1000)
			abort();
		if (st.kind != RO1_KIND_FILE)
			continue;
		if (st.size != nodes[i].size || ro1_read(&v, ino, 0, buf, sizeof(buf)) != (int)st.size)
			abort();
		for (uint64_t k = 0; k < st.size; k++)
			if (buf[k] != (uint8_t)(k * 13 + i))
				abort();
	}
	return 0;
}
