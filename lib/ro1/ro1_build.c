/*
 * CAPOSRO1 builder (docs/caposro1.md).
 *
 * Three steps. Check the caller's tree and number it breadth-first, sorting
 * each directory's children by name, so every directory's children become one
 * contiguous, sorted run of entries after it (the reader relies on exactly
 * that). Lay out the regions. Then stream the image front to back through a
 * 4 KiB staging block; the superblock, which holds the other regions' CRCs,
 * goes last into block 0.
 *
 * File data is read twice: once to fill the chunk CRC table (which precedes
 * the data) and once to copy it. The second pass recomputes the CRCs and the
 * build fails with E_IO if a file changed in between, so an image never ships
 * with CRCs that do not match its data.
 */
#include "ro1/ro1.h"

#include "base/crc32c.h"
#include "base/err.h"
#include "base/mem.h"

static int
ro1_node_cmp(const struct ro1_src_node *a, const struct ro1_src_node *b)
{
	uint32_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
	int c = memcmp(a->name, b->name, n);
	if (c != 0)
		return c;
	return a->name_len < b->name_len ? -1 : a->name_len > b->name_len;
}

/* In-place heapsort of child indices by name: no allocation, O(n log n). */
static void
ro1_sift(const struct ro1_src_node *nodes, uint32_t *a, uint32_t start, uint32_t end)
{
	uint32_t root = start;

	while (2 * (uint64_t)root + 1 < end) {
		uint32_t child = 2 * root + 1;
		if (child + 1 < end && ro1_node_cmp(&nodes[a[child]], &nodes[a[child + 1]]) < 0)
			child++;
		if (ro1_node_cmp(&nodes[a[root]], &nodes[a[child]]) >= 0)
			return;
		uint32_t t = a[root];
		a[root] = a[child];
		a[child] = t;
		root = child;
	}
}

static void
ro1_sort_children(const struct ro1_src_node *nodes, uint32_t *a, uint32_t n)
{
	if (n < 2)
		return;
	for (uint32_t i = n / 2; i-- > 0;)
		ro1_sift(nodes, a, i, n);
	for (uint32_t end = n - 1; end > 0; end--) {
		uint32_t t = a[0];
		a[0] = a[end];
		a[end] = t;
		ro1_sift(nodes, a, 0, end);
	}
}

static int
ro1_src_node_ok(const struct ro1_src_node *n, bool root)
{
	if (n->kind != RO1_KIND_FILE && n->kind != RO1_KIND_DIR)
		return E_INVAL;
	if (n->mtime_nsec >= 1000000000u)
		return E_INVAL;
	if (n->kind == RO1_KIND_DIR) {
		if (n->flags != 0 || n->size != 0 || (n->child_count > 0 && n->children == NULL))
			return E_INVAL;
	} else if ((n->flags & ~RO1_FLAG_EXEC) != 0 || n->child_count != 0) {
		return E_INVAL;
	}
	if (root)
		return n->kind == RO1_KIND_DIR && n->name_len == 0 ? 0 : E_INVAL;
	if (n->name_len == 0 || n->name_len > RO1_NAME_MAX || n->name == NULL)
		return E_NAME;
	for (uint32_t k = 0; k < n->name_len; k++)
		if (n->name[k] == '\0' || n->name[k] == '/')
			return E_NAME;
	if ((n->name_len == 1 && n->name[0] == '.') || (n->name_len == 2 && n->name[0] == '.' && n->name[1] == '.'))
		return E_NAME;
	return 0;
}

/* Number the tree breadth-first into order[]; every node exactly once. */
static int
ro1_order(struct ro1_src *src, uint32_t *order)
{
	struct ro1_src_node *nodes = src->nodes;
	uint32_t head = 0, tail = 1;

	for (uint32_t i = 0; i < src->count; i++)
		nodes[i].order = UINT32_MAX;
	int r = ro1_src_node_ok(&nodes[0], true);
	if (r < 0)
		return r;
	nodes[0].order = 0;
	order[0] = 0;
	while (head < tail) {
		struct ro1_src_node *d = &nodes[order[head++]];
		if (d->kind != RO1_KIND_DIR)
			continue;
		for (uint32_t k = 0; k < d->child_count; k++)
			if (d->children[k] >= src->count)
				return E_INVAL;
		ro1_sort_children(nodes, d->children, d->child_count);
		for (uint32_t k = 0; k < d->child_count; k++) {
			struct ro1_src_node *c = &nodes[d->children[k]];
			if (k > 0 && ro1_node_cmp(&nodes[d->children[k - 1]], c) == 0)
				return E_EXIST;
			if (c->order != UINT32_MAX)
				return E_LOOP; /* reached twice: a cycle or a shared node */
			r = ro1_src_node_ok(c, false);
			if (r < 0)
				return r;
			c->order = tail;
			order[tail++] = d->children[k];
		}
	}
	return tail == src->count ? 0 : E_INVAL; /* unreachable nodes */
}

static uint64_t
ro1_align(uint64_t x)
{
	return (x + RO1_ALIGN - 1) / RO1_ALIGN * RO1_ALIGN;
}

static uint64_t
ro1_nchunks(uint64_t size)
{
	return size / RO1_CHUNK + (size % RO1_CHUNK != 0);
}

/* Append bytes to the image; whole staging blocks go to the sink. */
static int
ro1_emit(struct ro1_builder *b, const void *src, size_t len)
{
	const uint8_t *s = src;

	while (len > 0) {
		size_t in = (size_t)(b->pos % RO1_ALIGN);
		size_t n = RO1_ALIGN - in;
		if (n > len)
			n = len;
		if (s != NULL)
			memcpy(b->block + in, s, n);
		else
			memset(b->block + in, 0, n);
		b->pos += n;
		len -= n;
		if (s != NULL)
			s += n;
		if (b->pos % RO1_ALIGN == 0) {
			int r = b->sink->write(b->sink->ctx, b->pos - RO1_ALIGN, b->block, RO1_ALIGN);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int
ro1_pad_to(struct ro1_builder *b, uint64_t off)
{
	while (b->pos < off) {
		uint64_t n = off - b->pos;
		int r = ro1_emit(b, NULL, n > RO1_ALIGN ? RO1_ALIGN : (size_t)n);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Walk every file chunk in entry order; emit CRCs (pass 1) or data (pass 2). */
static int
ro1_file_pass(struct ro1_builder *b, struct ro1_src *src, const uint32_t *order, bool data, uint32_t *crc_of_crcs)
{
	uint32_t acc = 0;

	for (uint32_t j = 0; j < src->count; j++) {
		const struct ro1_src_node *n = &src->nodes[order[j]];
		if (n->kind != RO1_KIND_FILE)
			continue;
		for (uint64_t off = 0; off < n->size; off += RO1_CHUNK) {
			size_t len = n->size - off < RO1_CHUNK ? (size_t)(n->size - off) : RO1_CHUNK;
			int r = src->read(src->ctx, order[j], off, b->chunk, len);
			if (r < 0)
				return r;
			uint32_t c = crc32c(b->chunk, len);
			acc = crc32c_update(acc, &c, 4);
			r = data ? ro1_emit(b, b->chunk, len) : ro1_emit(b, &c, 4);
			if (r < 0)
				return r;
		}
	}
	*crc_of_crcs = acc;
	return 0;
}

/* Sizes and offsets of every region, from the ordered tree. */
static int
ro1_layout(const struct ro1_src *src, struct ro1_super *sb)
{
	uint64_t names = 0, crcs = 0, data = 0;

	for (uint32_t i = 0; i < src->count; i++) {
		names += src->nodes[i].name_len;
		crcs += ro1_nchunks(src->nodes[i].size);
		data += src->nodes[i].size;
		if (data < src->nodes[i].size)
			return E_TOOBIG;
	}
	if (names > RO1_NAMES_MAX || crcs > UINT32_MAX)
		return E_TOOBIG;
	memset(sb, 0, sizeof(*sb));
	memcpy(sb->magic, RO1_MAGIC, 8);
	sb->version = RO1_VERSION;
	sb->super_size = RO1_SUPER_SIZE;
	sb->chunk_size = RO1_CHUNK;
	sb->entry_count = src->count;
	sb->entry_off = RO1_ALIGN;
	sb->name_off = ro1_align(sb->entry_off + (uint64_t)src->count * RO1_ENTRY_SIZE);
	sb->name_len = (uint32_t)names;
	sb->crc_off = ro1_align(sb->name_off + names);
	sb->crc_count = (uint32_t)crcs;
	sb->data_off = ro1_align(sb->crc_off + crcs * 4);
	sb->data_len = data;
	sb->image_size = ro1_align(sb->data_off + data);
	return sb->image_size < sb->data_off ? E_TOOBIG : 0;
}

/* The entry table in BFS order; names, chunk CRCs and extents are handed out in the same order. */
static int
ro1_emit_entries(struct ro1_builder *b, const struct ro1_src *src, const uint32_t *order, uint32_t *crc)
{
	uint64_t name_at = 0, crc_at = 0, data_at = 0;
	struct ro1_entry e;

	*crc = 0;
	for (uint32_t j = 0; j < src->count; j++) {
		const struct ro1_src_node *n = &src->nodes[order[j]];
		memset(&e, 0, sizeof(e));
		e.kind = n->kind;
		e.flags = n->flags;
		e.name_len = (uint16_t)n->name_len;
		e.name_off = n->name_len ? (uint32_t)name_at : 0;
		e.mtime_sec = n->mtime_sec;
		e.mtime_nsec = n->mtime_nsec;
		if (n->kind == RO1_KIND_DIR && n->child_count > 0) {
			e.first_child = src->nodes[n->children[0]].order;
			e.child_count = n->child_count;
		} else if (n->kind == RO1_KIND_FILE) {
			e.crc_first = (uint32_t)crc_at;
			e.size = n->size;
			e.data_off = n->size ? data_at : 0;
			crc_at += ro1_nchunks(n->size);
			data_at += n->size;
		}
		name_at += n->name_len;
		*crc = crc32c_update(*crc, &e, sizeof(e));
		int r = ro1_emit(b, &e, sizeof(e));
		if (r < 0)
			return r;
	}
	return 0;
}

static int
ro1_emit_names(struct ro1_builder *b, const struct ro1_src *src, const uint32_t *order, uint32_t *crc)
{
	*crc = 0;
	for (uint32_t j = 0; j < src->count; j++) {
		const struct ro1_src_node *n = &src->nodes[order[j]];
		*crc = crc32c_update(*crc, n->name, n->name_len);
		int r = ro1_emit(b, n->name, n->name_len);
		if (r < 0)
			return r;
	}
	return 0;
}

int
ro1_build(struct ro1_builder *b, struct ro1_src *src, uint32_t *order, const struct ro1_sink *sink,
	  uint64_t *image_size)
{
	struct ro1_super sb;
	uint32_t entry_crc, name_crc, crctab_crc, data_crc;
	int r;

	if (b == NULL || src == NULL || src->nodes == NULL || order == NULL || sink == NULL ||
	    sink->write == NULL || src->read == NULL || src->count == 0)
		return E_INVAL;
	if (src->count > RO1_MAX_ENTRIES)
		return E_LIMIT;
	if ((r = ro1_order(src, order)) < 0 || (r = ro1_layout(src, &sb)) < 0)
		return r;
	b->sink = sink;
	b->pos = RO1_ALIGN;
	if ((r = ro1_emit_entries(b, src, order, &entry_crc)) < 0 ||
	    (r = ro1_pad_to(b, sb.name_off)) < 0 || (r = ro1_emit_names(b, src, order, &name_crc)) < 0 ||
	    (r = ro1_pad_to(b, sb.crc_off)) < 0 || (r = ro1_file_pass(b, src, order, false, &crctab_crc)) < 0 ||
	    (r = ro1_pad_to(b, sb.data_off)) < 0 || (r = ro1_file_pass(b, src, order, true, &data_crc)) < 0 ||
	    (r = ro1_pad_to(b, sb.image_size)) < 0)
		return r;
	if (data_crc != crctab_crc)
		return E_IO; /* a source file changed between the two passes */
	/* The superblock last: it vouches for everything written before it. */
	sb.entry_crc = entry_crc;
	sb.name_crc = name_crc;
	sb.crctab_crc = crctab_crc;
	sb.super_crc = crc32c(&sb, offsetof(struct ro1_super, super_crc));
	memset(b->block, 0, sizeof(b->block));
	memcpy(b->block, &sb, sizeof(sb));
	if ((r = sink->write(sink->ctx, 0, b->block, RO1_ALIGN)) < 0)
		return r;
	if (sink->flush != NULL && (r = sink->flush(sink->ctx)) < 0)
		return r;
	*image_size = sb.image_size;
	return 0;
}

static int
ro1_blk_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	struct blk_dev *dev = ctx;
	uint64_t lba = off / dev->block_size;
	uint32_t count = (uint32_t)(len / dev->block_size);

	if (lba > dev->block_count || count > dev->block_count - lba)
		return E_NOSPC;
	return blk_write(dev, lba, count, buf);
}

static int
ro1_blk_flush(void *ctx)
{
	return blk_flush(ctx);
}

int
ro1_sink_blk(struct ro1_sink *sink, struct blk_dev *dev)
{
	if (dev == NULL || (dev->block_size != 512 && dev->block_size != 4096))
		return E_INVAL;
	sink->write = ro1_blk_write;
	sink->flush = ro1_blk_flush;
	sink->ctx = dev;
	return 0;
}
