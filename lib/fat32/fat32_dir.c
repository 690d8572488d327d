/*
 * FAT32 directories: entry decoding, long file names, timestamps and path
 * lookup (docs/fat32.md).
 *
 * A directory is read one 32-byte entry at a time through the volume cache.
 * Long names are assembled in the cursor: a run of LFN entries counts down
 * from the ordinal flagged LAST to 1, all with the same checksum, and is used
 * only if the short entry that follows has that checksum and the UTF-16 name
 * converts to valid UTF-8. Anything else (orphans, gaps, bad checksums) is
 * dropped and the 8.3 name is used, as fatgen103 section 7 prescribes.
 */
#include "fat32/fat32_int.h"
#include "fat32/fat32_reg.h"

#include "base/err.h"
#include "base/mem.h"

uint8_t
fat_lfn_checksum(const uint8_t short_name[11])
{
	uint8_t sum = 0;

	for (int i = 0; i < 11; i++)
		sum = (uint8_t)(((sum & 1) << 7) + (sum >> 1) + short_name[i]);
	return sum;
}

static bool
fat_leap(uint32_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

void
fat_decode_time(uint16_t date, uint16_t time, uint8_t tenth, struct fat_time *out)
{
	static const uint8_t mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	memset(out, 0, sizeof(*out));
	if (date == 0)
		return;
	uint32_t year = 1980u + (date >> 9);
	uint32_t month = (date >> 5) & 0xF;
	uint32_t day = date & 0x1F;
	uint32_t hour = time >> 11;
	uint32_t min = (time >> 5) & 0x3F;
	uint32_t sec = (time & 0x1F) * 2u;
	if (month < 1 || month > 12 || day < 1)
		return;
	if (day > mdays[month - 1] + (month == 2 && fat_leap(year) ? 1u : 0u))
		return;
	if (hour > 23 || min > 59 || sec > 58 || tenth > 199)
		return;
	out->valid = true;
	out->year = (uint16_t)year;
	out->month = (uint8_t)month;
	out->day = (uint8_t)day;
	out->hour = (uint8_t)hour;
	out->minute = (uint8_t)min;
	out->second = (uint8_t)(sec + tenth / 100);
	out->msec = (uint16_t)((tenth % 100) * 10);
}

static void
fat_lfn_reset(struct fat_dir *d)
{
	d->lfn_next = 0;
	d->lfn_count = 0;
}

/* Fold one LFN entry into the cursor's assembly state. */
static void
fat_lfn_add(struct fat_dir *d, const uint8_t *e)
{
	static const uint8_t units[FAT_LFN_UNITS] = { 1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30 };
	uint8_t ord = e[FAT_LFN_ORD];
	uint8_t seq = ord & FAT_LFN_ORD_MASK;

	if ((ord & ~(FAT_LFN_LAST | FAT_LFN_ORD_MASK)) != 0 || seq == 0 || seq > FAT_LFN_MAX_ORD ||
	    e[FAT_LFN_TYPE] != 0 || fat_get16(e + FAT_LFN_FSTCLUSLO) != 0) {
		fat_lfn_reset(d);
		return;
	}
	if (ord & FAT_LFN_LAST) {
		d->lfn_count = seq;
		d->lfn_next = seq;
		d->lfn_sum = e[FAT_LFN_CHKSUM];
	} else if (d->lfn_next == 0 || seq != d->lfn_next || e[FAT_LFN_CHKSUM] != d->lfn_sum) {
		fat_lfn_reset(d); /* out of order or from another name: an orphan */
		return;
	}
	for (int i = 0; i < FAT_LFN_UNITS; i++)
		d->lfn[(seq - 1) * FAT_LFN_UNITS + i] = fat_get16(e + units[i]);
	d->lfn_next = (uint8_t)(seq - 1);
}

/* UTF-16 long name to UTF-8; false if it is not a usable name. */
static bool
fat_lfn_to_utf8(const struct fat_dir *d, char *out)
{
	uint32_t max = (uint32_t)d->lfn_count * FAT_LFN_UNITS;
	uint32_t n = 0, o = 0;

	while (n < max && d->lfn[n] != 0)
		n++;
	if (n == 0 || n > 255 || n <= (uint32_t)(d->lfn_count - 1) * FAT_LFN_UNITS)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t c = d->lfn[i];
		if (c >= 0xD800 && c <= 0xDBFF) {
			if (i + 1 >= n || d->lfn[i + 1] < 0xDC00 || d->lfn[i + 1] > 0xDFFF)
				return false;
			c = 0x10000 + ((c - 0xD800) << 10) + (d->lfn[i + 1] - 0xDC00u);
			i++;
		} else if (c >= 0xDC00 && c <= 0xDFFF) {
			return false;
		}
		if (c < 0x20 || c == '/' || c == 0x7F)
			return false;
		if (c < 0x80) {
			out[o++] = (char)c;
		} else if (c < 0x800) {
			out[o++] = (char)(0xC0 | (c >> 6));
			out[o++] = (char)(0x80 | (c & 0x3F));
		} else if (c < 0x10000) {
			out[o++] = (char)(0xE0 | (c >> 12));
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
			out[o++] = (char)(0x80 | (c & 0x3F));
		} else {
			out[o++] = (char)(0xF0 | (c >> 18));
			out[o++] = (char)(0x80 | ((c >> 12) & 0x3F));
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
			out[o++] = (char)(0x80 | (c & 0x3F));
		}
	}
	out[o] = '\0';
	if ((o == 1 && out[0] == '.') || (o == 2 && out[0] == '.' && out[1] == '.'))
		return false;
	return true;
}

/* Append one short-name byte; OEM bytes >= 0x80 are taken as Latin-1 (docs/fat32.md). */
static int
fat_short_byte(uint8_t b, bool lower, char *out, uint32_t *o)
{
	if (b < 0x20 || b == '/' || b == '\\' || b == 0x7F)
		return E_CORRUPT;
	if (b >= 0x80) {
		out[(*o)++] = (char)(0xC0 | (b >> 6));
		out[(*o)++] = (char)(0x80 | (b & 0x3F));
		return 0;
	}
	if (lower && b >= 'A' && b <= 'Z')
		b = (uint8_t)(b - 'A' + 'a');
	out[(*o)++] = (char)b;
	return 0;
}

static int
fat_short_name(const uint8_t *e, char *out)
{
	uint8_t nt = e[FAT_DIR_NTRES];
	int base_len = 8, ext_len = 3;
	uint32_t o = 0;

	while (base_len > 0 && e[base_len - 1] == ' ')
		base_len--;
	while (ext_len > 0 && e[8 + ext_len - 1] == ' ')
		ext_len--;
	if (base_len == 0)
		return E_CORRUPT;
	for (int i = 0; i < base_len; i++) {
		uint8_t b = e[i];
		if (i == 0 && b == FAT_DIRENT_KANJI_E5)
			b = FAT_DIRENT_FREE;
		if (fat_short_byte(b, nt & FAT_NTRES_LOWER_BASE, out, &o) < 0)
			return E_CORRUPT;
	}
	if (ext_len > 0) {
		out[o++] = '.';
		for (int i = 0; i < ext_len; i++)
			if (fat_short_byte(e[8 + i], nt & FAT_NTRES_LOWER_EXT, out, &o) < 0)
				return E_CORRUPT;
	}
	out[o] = '\0';
	return 0;
}

static int
fat_dir_init(struct fat_vol *vol, uint32_t cluster, struct fat_dir *d)
{
	if (!fat_cluster_ok(vol, cluster))
		return E_CORRUPT;
	memset(d, 0, sizeof(*d));
	d->vol = vol;
	d->start_cluster = cluster;
	d->cluster = cluster;
	d->clusters_walked = 1;
	return 0;
}

int
fat_opendir_ent(struct fat_vol *vol, const struct fat_dirent *ent, struct fat_dir *d)
{
	if (!ent->is_dir)
		return E_BADF;
	return fat_dir_init(vol, ent->first_cluster, d);
}

/* Fetch the raw entry under the cursor, moving to the next cluster as needed. */
static int
fat_dir_fetch(struct fat_dir *d, uint8_t *e)
{
	struct fat_vol *v = d->vol;
	uint32_t per = v->cluster_size / FAT_DIRENT_SIZE;

	if (d->index > 0 && d->index % per == 0) {
		uint32_t next;
		int r = fat_next_cluster(v, d->cluster, &next);
		if (r < 0)
			return r;
		if (next == 0)
			return 0;
		if (d->index >= FAT_DIR_MAX_ENTRIES || d->clusters_walked >= v->cluster_count)
			return fat_chain_overrun(v, next, d->clusters_walked + 1);
		d->cluster = next;
		d->clusters_walked++;
	}
	uint64_t off = fat_cluster_offset(v, d->cluster) + (uint64_t)(d->index % per) * FAT_DIRENT_SIZE;
	int r = fat_read_bytes(v, off, e, FAT_DIRENT_SIZE);
	if (r < 0)
		return r;
	d->index++;
	return 1;
}

/* Decode a short entry; the LFN assembled before it is used if its checksum matches. */
static int
fat_decode_entry(struct fat_dir *d, const uint8_t *e, struct fat_dirent *out)
{
	struct fat_vol *v = d->vol;

	memset(out, 0, sizeof(*out));
	if (fat_short_name(e, out->short_name) < 0)
		return E_CORRUPT;
	out->has_long_name = d->lfn_count > 0 && d->lfn_next == 0 &&
			     d->lfn_sum == fat_lfn_checksum(e + FAT_DIR_NAME) && fat_lfn_to_utf8(d, out->name);
	if (!out->has_long_name)
		memcpy(out->name, out->short_name, sizeof(out->short_name));
	fat_lfn_reset(d);

	out->attr = e[FAT_DIR_ATTR];
	out->is_dir = (out->attr & FAT_ATTR_DIRECTORY) != 0;
	uint32_t hi = fat_get16(e + FAT_DIR_FSTCLUSHI), lo = fat_get16(e + FAT_DIR_FSTCLUSLO);
	out->first_cluster = (hi << 16) | lo;
	out->size = out->is_dir ? 0 : fat_get32(e + FAT_DIR_FILESIZE);
	if (out->is_dir) {
		if (!fat_cluster_ok(v, out->first_cluster))
			return E_CORRUPT;
		/* A subdirectory that is the root or this directory again is a loop. */
		if (out->first_cluster == v->root_cluster || out->first_cluster == d->start_cluster)
			return E_LOOP;
	} else if (out->first_cluster != 0 && !fat_cluster_ok(v, out->first_cluster)) {
		return E_CORRUPT;
	}
	fat_decode_time(fat_get16(e + FAT_DIR_CRTDATE), fat_get16(e + FAT_DIR_CRTTIME),
			e[FAT_DIR_CRTTIMETENTH], &out->ctime);
	fat_decode_time(fat_get16(e + FAT_DIR_WRTDATE), fat_get16(e + FAT_DIR_WRTTIME), 0, &out->mtime);
	fat_decode_time(fat_get16(e + FAT_DIR_LSTACCDATE), 0, 0, &out->atime);
	return 1;
}

static bool
fat_is_dot(const uint8_t *e)
{
	return memcmp(e, ".          ", 11) == 0 || memcmp(e, "..         ", 11) == 0;
}

int
fat_readdir(struct fat_dir *d, struct fat_dirent *out)
{
	uint8_t e[FAT_DIRENT_SIZE];

	while (!d->at_end) {
		int r = fat_dir_fetch(d, e);
		if (r <= 0) {
			d->at_end = true;
			return r;
		}
		if (e[0] == FAT_DIRENT_END) {
			d->at_end = true;
			return 0;
		}
		if (e[0] == FAT_DIRENT_FREE) {
			fat_lfn_reset(d);
			continue;
		}
		uint8_t attr = e[FAT_DIR_ATTR];
		if ((attr & FAT_ATTR_LONG_MASK) == FAT_ATTR_LONG_NAME) {
			fat_lfn_add(d, e);
			continue;
		}
		if ((attr & FAT_ATTR_VOLUME_ID) || fat_is_dot(e)) {
			fat_lfn_reset(d);
			continue;
		}
		r = fat_decode_entry(d, e, out);
		if (r < 0)
			d->at_end = true;
		return r;
	}
	return 0;
}

uint32_t
fat_dir_tell(const struct fat_dir *d)
{
	return d->index;
}

/* Rewind and walk the chain to entry `pos`; E_RANGE if the directory is shorter. */
int
fat_dir_seek(struct fat_dir *d, uint32_t pos)
{
	struct fat_vol *v = d->vol;
	uint32_t per = v->cluster_size / FAT_DIRENT_SIZE;
	int r = fat_dir_init(v, d->start_cluster, d);

	if (r < 0)
		return r;
	if (pos > FAT_DIR_MAX_ENTRIES)
		return E_RANGE;
	for (uint32_t k = 1; k <= (pos > 0 ? (pos - 1) / per : 0); k++) {
		uint32_t next;
		r = fat_next_cluster(v, d->cluster, &next);
		if (r < 0)
			return r;
		if (next == 0 || d->clusters_walked >= v->cluster_count)
			return next == 0 ? E_RANGE : E_LOOP;
		d->cluster = next;
		d->clusters_walked++;
	}
	d->index = pos;
	return 0;
}

static bool
fat_name_eq(const char *a, const char *b, size_t blen)
{
	size_t i = 0;

	for (; i < blen && a[i] != '\0'; i++) {
		char x = a[i], y = b[i];
		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return i == blen && a[i] == '\0';
}

/* Walk `path` from the root. The root itself has no entry; it is synthesised. */
int
fat_stat(struct fat_vol *vol, const char *path, struct fat_dirent *out)
{
	struct fat_dir d;
	uint32_t ancestors[FAT_DEPTH_MAX + 1];
	uint32_t depth = 0;
	size_t i = 0;

	if (path == NULL)
		return E_INVAL;
	memset(out, 0, sizeof(*out));
	out->is_dir = true;
	out->attr = FAT_ATTR_DIRECTORY;
	out->first_cluster = vol->root_cluster;
	ancestors[0] = vol->root_cluster;
	for (;;) {
		while (path[i] == '/')
			i++;
		if (path[i] == '\0')
			return 0;
		if (i >= FAT_PATH_MAX)
			return E_NAME;
		size_t start = i;
		while (path[i] != '\0' && path[i] != '/')
			i++;
		size_t len = i - start;
		const char *name = path + start;
		if (len > FAT_NAME_MAX || (len == 1 && name[0] == '.') ||
		    (len == 2 && name[0] == '.' && name[1] == '.'))
			return E_NAME;
		if (!out->is_dir)
			return E_NOENT;
		if (depth >= FAT_DEPTH_MAX)
			return E_LIMIT;
		int r = fat_dir_init(vol, out->first_cluster, &d);
		if (r < 0)
			return r;
		for (;;) {
			r = fat_readdir(&d, out);
			if (r < 0)
				return r;
			if (r == 0)
				return E_NOENT;
			if (fat_name_eq(out->name, name, len) || fat_name_eq(out->short_name, name, len))
				break;
		}
		if (out->is_dir) {
			for (uint32_t k = 0; k <= depth; k++)
				if (ancestors[k] == out->first_cluster)
					return E_LOOP;
			ancestors[++depth] = out->first_cluster;
		}
	}
}

int
fat_opendir(struct fat_vol *vol, const char *path, struct fat_dir *d)
{
	struct fat_dirent ent;
	int r = fat_stat(vol, path, &ent);
	if (r < 0)
		return r;
	return fat_opendir_ent(vol, &ent, d);
}
