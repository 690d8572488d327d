/*
 * libFuzzer: CAPOSST1 mount and walk on hostile images. The input is the
 * Store region (block size 512, or 4096 when the first byte is odd and the
 * input is long enough); a partial last block is zero-padded. A mounted
 * image is listed, every record read, st_check run, then a put, a delete
 * and a compaction are tried on the RAM copy: none may crash or hang.
 * Each input runs twice: as given, and with every checksum (commit records,
 * entries) recomputed so that the fuzzer also reaches the structural checks
 * behind the CRCs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/crc32c.h"
#include "base/err.h"
#include "store/store.h"
#include "../host/crashsim/ramdev.h"

#define ARENA (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
resign(uint8_t *mem, uint32_t bs, uint64_t blocks)
{
	for (uint32_t slot = 0; slot < 2 && slot < blocks; slot++) {
		struct st_super_disk *s = (struct st_super_disk *)(mem + (size_t)slot * bs);
		uint64_t area, t;

		size_t el = (size_t)s->pend_entries * ST_ENTRY_SIZE;
		uint32_t pair[2];

		if (sizeof(*s) + (uint64_t)s->pend_entries * ST_ENTRY_SIZE + s->pend_bytes <= bs) {
			pair[0] = crc32c((const uint8_t *)s + sizeof(*s), el);
			pair[1] = crc32c((const uint8_t *)s + sizeof(*s) + el, s->pend_bytes);
			s->crc = crc32c_update(crc32c(s, offsetof(struct st_super_disk, crc)),
			    pair, 8);
		}
		if (s->table_blocks == 0 || s->table_blocks > blocks || s->data_blocks > blocks)
			continue;
		for (uint32_t a = 0; a < 2; a++) {
			area = 2 + a * (s->table_blocks + s->data_blocks);
			for (t = 0; t < s->table_blocks && area + t < blocks; t++) {
				for (uint32_t i = 0; i < bs / ST_ENTRY_SIZE; i++) {
					struct st_entry_disk *e = (struct st_entry_disk *)
					    (mem + (area + t) * bs) + i;

					e->crc = crc32c(e, offsetof(struct st_entry_disk, crc));
				}
			}
		}
	}
}

static void
run(uint8_t *mem, uint32_t bs, uint64_t blocks)
{
	static uint8_t arena[ARENA];
	static uint8_t val[ST_VAL_MAX];
	struct ramdev rd;
	struct st st;
	struct st_ns ns;
	char key[ST_KEY_MAX + 1];
	uint64_t cur = 0;
	int n, guard = 0;

	ramdev_wrap(&rd, bs, blocks, mem);
	if (st_mount(&st, &rd.dev, arena, ARENA) == 0) {
		st_ns_root(&st, &ns);
		while ((n = st_list(&ns, &cur, key, sizeof(key))) > 0 && guard++ < 100000)
			(void)st_get(&ns, key, val, sizeof(val));
		(void)st_check(&rd.dev, arena, ARENA, NULL, NULL);
		if (st_mount(&st, &rd.dev, arena, ARENA) == 0) {
			st_ns_root(&st, &ns);
			(void)st_put(&ns, "fuzz/key", "value", 5);
			(void)st_delete(&ns, "fuzz/key");
			(void)st_compact(&st);
		}
	} else {
		(void)st_check(&rd.dev, arena, ARENA, NULL, NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t bs = (size > 8192 && (data[0] & 1)) ? 4096 : 512;
	uint64_t blocks = (size + bs - 1) / bs;
	uint8_t *mem;

	if (blocks == 0 || blocks > 4096)
		return 0;
	mem = calloc(blocks, bs);
	memcpy(mem, data, size);
	run(mem, bs, blocks);
	memset(mem, 0, blocks * bs);
	memcpy(mem, data, size);
	resign(mem, bs, blocks);
	run(mem, bs, blocks);
	free(mem);
	return 0;
}
