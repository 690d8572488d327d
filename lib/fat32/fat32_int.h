/* Internals shared by fat32.c (volume, chains, files) and fat32_dir.c (directories). */
#ifndef CAPOS_FAT32_FAT32_INT_H
#define CAPOS_FAT32_FAT32_INT_H

#include "fat32/fat32.h"

static inline uint16_t
fat_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t
fat_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline bool
fat_cluster_ok(const struct fat_vol *v, uint32_t c)
{
	return c >= 2 && c - 2 < v->cluster_count;
}

static inline uint64_t
fat_cluster_offset(const struct fat_vol *v, uint32_t c)
{
	return v->data_offset + (uint64_t)(c - 2) * v->cluster_size;
}

int fat_read_bytes(struct fat_vol *v, uint64_t off, void *dst, size_t len);
int fat_next_cluster(struct fat_vol *v, uint32_t c, uint32_t *next);
int fat_chain_overrun(struct fat_vol *v, uint32_t c, uint32_t walked);

#endif
