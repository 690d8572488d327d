/*
 * libFuzzer target: BlockDevice requests as a hostile client sends them.
 * The first input byte picks the block size (0x80), whether the answer is
 * built in place over the request (0x40, as blkproc_serve does) and the
 * path: 0x20 clear, blkproc_handle with method (low 5 bits) % 8 (unknown
 * ordinals too); 0x20 set, blkproc_begin/finish (blkproc_serve_async) with
 * a window area holding one live window, method = low 3 bits, and the call's
 * badge naming that window (0x18 clear), a stale generation (0x08), another
 * slot (0x10) or none (0x18). The rest is the params message as it arrives
 * from the ring. Neither may crash; each answers with a result message that
 * decodes or an exception; a request never touches the RAM disk (a test
 * fixture) outside its blocks, and a pending one's buffer lies wholly in its
 * answer (readBlocks), its request (writeBlocks) or the window (readAt,
 * writeAt).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "capnp/capnp.h"
#include "../../user/drivers/blkproc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DISK_BYTES (1u << 20)

static uint8_t *disk;
static uint8_t warea[256 * 1024] __attribute__((aligned(4096)));
#define WIN_OFF (64u * 1024u)
#define WIN_BYTES (128u * 1024u)
static uint8_t res[BLKPROC_MSG_MAX] __attribute__((aligned(8)));
static uint8_t msg[BLKPROC_MSG_MAX] __attribute__((aligned(8)));

static int
ram_read(void *drv, uint64_t lba, uint32_t count, void *buf)
{
	struct blkserv *s = drv;
	uint64_t off = lba * s->info.block_size, len = (uint64_t)count * s->info.block_size;
	if (off > DISK_BYTES || len > DISK_BYTES - off)
		abort();        /* blkserv let an out-of-range request through */
	memcpy(buf, disk + off, len);
	return 0;
}

static int
ram_write(void *drv, uint64_t lba, uint32_t count, const void *buf)
{
	struct blkserv *s = drv;
	uint64_t off = lba * s->info.block_size, len = (uint64_t)count * s->info.block_size;
	if (off > DISK_BYTES || len > DISK_BYTES - off)
		abort();
	memcpy(disk + off, buf, len);
	return 0;
}

static int
ram_flush(void *drv)
{
	return 0;
}

static const struct blkserv_ops ram_ops = { ram_read, ram_write, ram_flush };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct blkserv srv;
	struct capnp_msg m;
	struct capnp_struct root;
	if (!disk && !(disk = calloc(1, DISK_BYTES)))
		abort();
	if (size < 1 || size > BLKPROC_MSG_MAX + 1)
		return 0;
	uint32_t bs = data[0] & 0x80 ? 4096 : 512;
	struct blkserv_info in = { .block_size = bs, .block_count = DISK_BYTES / bs,
		.max_transfer_blocks = 1024, .model = "fuzz" };
	if (blkserv_init(&srv, &ram_ops, &srv, &in) < 0)
		abort();
	blkproc_prepare(&srv);
	uint16_t method = (uint16_t)((data[0] & 0x1f) % 8);
	uint8_t *out = res;
	const uint8_t *params = data + 1;
	if (data[0] & 0x40) {   /* answered in place, over the request (blkproc_serve) */
		memcpy(msg, data + 1, size - 1);
		out = msg;
		params = msg;
	}
	uint32_t rlen = BLKPROC_MSG_MAX;
	int r;
	if (data[0] & 0x20) {
		static struct blkproc_area area;
		static struct blkproc_req q;
		static const uint32_t badges[] = { 1 | 1 << 8, 1 | 2 << 8, 2 | 1 << 8, 0 };
		area = (struct blkproc_area){ .cpu = warea, .bytes = sizeof warea };
		area.w[0] = (struct blkproc_window){ .off = WIN_OFF, .bytes = WIN_BYTES, .gen = 1,
			.live = 1 };
		q.area = &area;
		q.badge = badges[(data[0] >> 3) & 3];
		q.ex = 0;
		method = data[0] & 7;
		r = blkproc_begin(&q, &srv, method, params, (uint32_t)(size - 1), out, &rlen);
		if (r == BLKPROC_OPEN_WINDOW) {
			if (q.io.count == 0 || q.io.count % 4096 || q.io.count > sizeof warea)
				abort();
			rlen = BLKPROC_MSG_MAX;
			r = blkproc_window_answer(&q, 0, q.io.count, out, &rlen);
		} else if (r == BLKPROC_PENDING) {
			uintptr_t b = (uintptr_t)q.io.buf;
			uint64_t n = (uint64_t)q.io.count * bs;
			bool in_win = b >= (uintptr_t)warea + WIN_OFF &&
			    b + n <= (uintptr_t)warea + WIN_OFF + WIN_BYTES;
			/* a read's data goes into its answer, a write's stays in its request */
			uintptr_t m0 = q.io.op == BLKPROC_IO_WRITE ? (uintptr_t)params : (uintptr_t)out;
			uintptr_t m1 = q.io.op == BLKPROC_IO_WRITE ? m0 + (size - 1) : m0 + BLKPROC_MSG_MAX;
			bool in_msg = b >= m0 && b + n <= m1;
			bool at = method == 5 || method == 6;
			if (q.io.op != BLKPROC_IO_FLUSH && (at ? !in_win : !in_msg))
				abort();        /* a buffer the request may not name */
			if (at && q.badge != badges[0])
				abort();        /* a window reached without its badge */
			int e = q.io.op == BLKPROC_IO_READ ? ram_read(&srv, q.io.lba, q.io.count, q.io.buf) :
			    q.io.op == BLKPROC_IO_WRITE ? ram_write(&srv, q.io.lba, q.io.count, q.io.buf) : 0;
			rlen = BLKPROC_MSG_MAX;
			r = blkproc_finish(&q, e, out, &rlen);
		}
	} else {
		r = blkproc_handle(&srv, method, params, (uint32_t)(size - 1), out, &rlen);
	}
	if (r < 0 || r > 5)
		abort();        /* 0 or an ExceptionType + 1 */
	if (r == 0 && (rlen > BLKPROC_MSG_MAX || capnp_msg_init(&m, out, rlen) < 0 ||
	    capnp_msg_root(&m, &root) < 0))
		abort();        /* an answer always decodes */
	return 0;
}
