/*
 * FAT32 volume: mount-time BPB and FSInfo validation, the block cache, cluster
 * chains and file reads (docs/fat32.md).
 *
 * Design: the volume is addressed in bytes and read through a one-block cache,
 * so FAT sectors of 512..4096 bytes work over 512 B and 4 KiB device blocks
 * alike. Nothing read from the device is trusted: every FAT entry is range
 * checked when it is followed, and every chain walk counts its steps against
 * the volume's cluster count, so a cycle ends in E_LOOP instead of a hang.
 */
#include "fat32/fat32_int.h"
#include "fat32/fat32_reg.h"

#include "base/err.h"
#include "base/mem.h"

int
fat_read_bytes(struct fat_vol *v, uint64_t off, void *dst, size_t len)
{
	return blk_read_bytes(v->dev, &v->bc, v->cache, off, dst, len);
}

/*
 * Follow one FAT link. *next is the next cluster, or 0 at end of chain. A free,
 * reserved, bad or out-of-range entry inside a chain is corruption.
 */
int
fat_next_cluster(struct fat_vol *v, uint32_t c, uint32_t *next)
{
	uint8_t raw[4];

	if (!fat_cluster_ok(v, c))
		return E_CORRUPT;
	int r = fat_read_bytes(v, v->fat_offset + (uint64_t)c * 4, raw, 4);
	if (r < 0)
		return r;
	uint32_t e = fat_get32(raw) & FAT_ENT_MASK;
	if (e >= FAT_ENT_EOC_MIN) {
		*next = 0;
		return 0;
	}
	if (!fat_cluster_ok(v, e))
		return E_CORRUPT; /* free, reserved, bad or past the last cluster */
	*next = e;
	return 0;
}

/*
 * A chain that should have ended at c (after `walked` clusters) goes on. Tell a
 * cycle (E_LOOP: still going after cluster_count steps) from a merely too-long
 * chain (E_CORRUPT). Only runs on images that are already known to be bad.
 */
int
fat_chain_overrun(struct fat_vol *v, uint32_t c, uint32_t walked)
{
	while (c != 0) {
		if (walked > v->cluster_count)
			return E_LOOP;
		int r = fat_next_cluster(v, c, &c);
		if (r < 0)
			return r;
		walked++;
	}
	return E_CORRUPT;
}

void
fat_invalidate(struct fat_vol *vol)
{
	vol->bc.ok = false;
}

static bool
fat_pow2(uint32_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

static int
fat_check_bpb(struct fat_vol *v, const uint8_t *bs, uint32_t flags)
{
	if (!((bs[FAT_BS_JMPBOOT] == 0xEB && bs[FAT_BS_JMPBOOT + 2] == 0x90) || bs[FAT_BS_JMPBOOT] == 0xE9))
		return E_CORRUPT;
	if (bs[FAT_BS_SIG] != 0x55 || bs[FAT_BS_SIG + 1] != 0xAA)
		return E_CORRUPT;

	uint32_t bps = fat_get16(bs + FAT_BPB_BYTSPERSEC);
	uint32_t spc = bs[FAT_BPB_SECPERCLUS];
	uint32_t rsvd = fat_get16(bs + FAT_BPB_RSVDSECCNT);
	uint32_t nfats = bs[FAT_BPB_NUMFATS];
	uint32_t media = bs[FAT_BPB_MEDIA];
	uint32_t tot = fat_get32(bs + FAT_BPB_TOTSEC32);
	uint32_t fatsz = fat_get32(bs + FAT_BPB_FATSZ32);
	uint32_t ext = fat_get16(bs + FAT_BPB_EXTFLAGS);
	uint32_t root = fat_get32(bs + FAT_BPB_ROOTCLUS);

	if (!fat_pow2(bps) || bps < 512 || bps > 4096)
		return E_CORRUPT;
	if (!fat_pow2(spc) || spc > 128 || bps * spc > 65536)
		return E_CORRUPT;
	if (rsvd < 1 || nfats < 1 || nfats > 2)
		return E_CORRUPT;
	/* A 16-bit FAT size is what makes a FAT12/16 BPB: a real format, just not ours. */
	if (fat_get16(bs + FAT_BPB_FATSZ16) != 0)
		return E_NOTSUP;
	/* With it zero, the other FAT12/16 fields must be zero too. */
	if (fat_get16(bs + FAT_BPB_ROOTENTCNT) != 0 || fat_get16(bs + FAT_BPB_TOTSEC16) != 0)
		return E_CORRUPT;
	if (media != 0xF0 && media < 0xF8)
		return E_CORRUPT;
	if (tot == 0 || fatsz == 0)
		return E_CORRUPT;
	if (fat_get16(bs + FAT_BPB_FSVER) != 0)
		return E_NOTSUP; /* a FAT32 revision this reader does not know */

	uint64_t meta = (uint64_t)rsvd + (uint64_t)nfats * fatsz;
	if (meta >= tot)
		return E_CORRUPT;
	uint64_t clusters = (tot - meta) / spc;
	if (clusters < 1 || clusters > FAT32_MAX_CLUSTERS)
		return E_CORRUPT;
	if ((flags & FAT_MOUNT_STRICT) && clusters < FAT32_MIN_CLUSTERS)
		return E_CORRUPT;
	/* The FAT must have an entry for every cluster, plus the two reserved ones. */
	if ((uint64_t)fatsz * bps / 4 < clusters + 2)
		return E_CORRUPT;
	if (root < 2 || root - 2 >= clusters)
		return E_CORRUPT;
	uint32_t active = 0;
	if (ext & 0x80) {
		active = ext & 0x0F;
		if (active >= nfats)
			return E_CORRUPT;
	}
	/* The volume must fit the device: a shorter device is a truncated image. */
	uint64_t dev_bytes = v->dev->block_count * (uint64_t)v->dev->block_size;
	if ((uint64_t)tot * bps > dev_bytes)
		return E_CORRUPT;

	v->bytes_per_sector = bps;
	v->sectors_per_cluster = spc;
	v->cluster_size = bps * spc;
	v->reserved_sectors = rsvd;
	v->fat_count = nfats;
	v->fat_sectors = fatsz;
	v->total_sectors = tot;
	v->active_fat = active;
	v->cluster_count = (uint32_t)clusters;
	v->root_cluster = root;
	v->fat_offset = ((uint64_t)rsvd + (uint64_t)active * fatsz) * bps;
	v->data_offset = meta * bps;
	return 0;
}

/* FSInfo is advisory: a bad signature means "no hints", a bad location is corruption. */
static int
fat_check_fsinfo(struct fat_vol *v, const uint8_t *bs)
{
	uint32_t sec = fat_get16(bs + FAT_BPB_FSINFO);
	uint32_t bk = fat_get16(bs + FAT_BPB_BKBOOTSEC);
	uint8_t fsi[512];

	v->fsinfo_valid = false;
	v->free_hint = 0xFFFFFFFFu;
	v->next_free_hint = 0xFFFFFFFFu;
	if (bk != 0 && bk != 0xFFFF && bk >= v->reserved_sectors)
		return E_CORRUPT;
	if (sec == 0 || sec == 0xFFFF)
		return 0;
	if (sec >= v->reserved_sectors || sec == bk)
		return E_CORRUPT;
	int r = fat_read_bytes(v, (uint64_t)sec * v->bytes_per_sector, fsi, sizeof(fsi));
	if (r < 0)
		return r;
	if (fat_get32(fsi + FAT_FSI_LEADSIG) != FAT_FSI_LEADSIG_VAL ||
	    fat_get32(fsi + FAT_FSI_STRUCSIG) != FAT_FSI_STRUCSIG_VAL ||
	    fat_get32(fsi + FAT_FSI_TRAILSIG) != FAT_FSI_TRAILSIG_VAL)
		return 0;
	v->fsinfo_valid = true;
	uint32_t fc = fat_get32(fsi + FAT_FSI_FREECOUNT);
	uint32_t nf = fat_get32(fsi + FAT_FSI_NXTFREE);
	if (fc <= v->cluster_count)
		v->free_hint = fc;
	if (fat_cluster_ok(v, nf))
		v->next_free_hint = nf;
	return 0;
}

int
fat_mount(struct fat_vol *vol, struct blk_dev *dev, uint32_t flags)
{
	uint8_t bs[512];

	if (vol == NULL || dev == NULL || (dev->block_size != 512 && dev->block_size != 4096) ||
	    dev->block_count == 0 || (flags & ~FAT_MOUNT_STRICT) != 0)
		return E_INVAL;
	memset(vol, 0, sizeof(*vol));
	vol->dev = dev;
	int r = fat_read_bytes(vol, 0, bs, sizeof(bs));
	if (r < 0)
		return r;
	r = fat_check_bpb(vol, bs, flags);
	if (r < 0)
		return r;
	r = fat_check_fsinfo(vol, bs);
	if (r < 0)
		return r;
	/* The root directory's first FAT link must be sane before anything walks it. */
	uint32_t next;
	return fat_next_cluster(vol, vol->root_cluster, &next);
}

/*
 * Check a file's chain against its size: exactly ceil(size / cluster_size)
 * clusters, then end of chain. Runs once per open, bounded by cluster_count.
 */
static int
fat_check_file_chain(struct fat_vol *v, uint32_t first, uint32_t size)
{
	if (size == 0)
		return first == 0 ? 0 : E_CORRUPT;
	if (!fat_cluster_ok(v, first))
		return E_CORRUPT;
	uint64_t need = ((uint64_t)size + v->cluster_size - 1) / v->cluster_size;
	if (need > v->cluster_count)
		return E_CORRUPT;
	uint32_t c = first;
	for (uint64_t i = 1; i < need; i++) {
		int r = fat_next_cluster(v, c, &c);
		if (r < 0)
			return r;
		if (c == 0)
			return E_CORRUPT; /* chain shorter than the size says */
	}
	uint32_t next;
	int r = fat_next_cluster(v, c, &next);
	if (r < 0)
		return r;
	if (next != 0)
		return fat_chain_overrun(v, next, (uint32_t)need + 1);
	return 0;
}

int
fat_open_ent(struct fat_vol *vol, const struct fat_dirent *ent, struct fat_file *f)
{
	if (ent->is_dir)
		return E_BADF;
	int r = fat_check_file_chain(vol, ent->first_cluster, ent->size);
	if (r < 0)
		return r;
	f->vol = vol;
	f->first_cluster = ent->first_cluster;
	f->size = ent->size;
	f->pos_index = 0;
	f->pos_cluster = ent->first_cluster;
	if (&f->ent != ent) /* fat_open stats straight into f->ent */
		memcpy(&f->ent, ent, sizeof(*ent));
	return 0;
}

int
fat_open(struct fat_vol *vol, const char *path, struct fat_file *f)
{
	int r = fat_stat(vol, path, &f->ent);
	if (r < 0)
		return r;
	return fat_open_ent(vol, &f->ent, f);
}

/* Position the cursor on cluster number `index` of the chain (validated at open). */
static int
fat_seek_cluster(struct fat_file *f, uint32_t index)
{
	if (index < f->pos_index) {
		f->pos_index = 0;
		f->pos_cluster = f->first_cluster;
	}
	while (f->pos_index < index) {
		uint32_t next;
		int r = fat_next_cluster(f->vol, f->pos_cluster, &next);
		if (r < 0)
			return r;
		if (next == 0)
			return E_CORRUPT; /* the chain changed under us */
		f->pos_cluster = next;
		f->pos_index++;
	}
	return 0;
}

int
fat_read(struct fat_file *f, uint64_t off, void *buf, size_t len)
{
	struct fat_vol *v = f->vol;
	uint8_t *d = buf;
	size_t done = 0;

	if (off >= f->size)
		return 0;
	if (len > INT32_MAX)
		len = INT32_MAX;
	if (len > f->size - off)
		len = (size_t)(f->size - off);
	while (done < len) {
		uint32_t index = (uint32_t)(off / v->cluster_size);
		uint32_t in = (uint32_t)(off % v->cluster_size);
		size_t n = v->cluster_size - in;
		if (n > len - done)
			n = len - done;
		int r = fat_seek_cluster(f, index);
		if (r < 0)
			return r;
		r = fat_read_bytes(v, fat_cluster_offset(v, f->pos_cluster) + in, d + done, n);
		if (r < 0)
			return r;
		done += n;
		off += n;
	}
	return (int)done;
}
