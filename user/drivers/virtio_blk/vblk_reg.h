/*
 * virtio-blk wire definitions (virtio 1.x section 5.2). Constants and packed
 * layouts only.
 */
#ifndef CAPOS_DRIVERS_VBLK_REG_H
#define CAPOS_DRIVERS_VBLK_REG_H

#include <stdint.h>

#define VIRTIO_BLK_DEVICE_ID_MODERN 0x1042u     /* 4.1.2: 0x1040 + 2 */
#define VIRTIO_BLK_DEVICE_ID_LEGACY 0x1001u     /* transitional */

/* 5.2.3 feature bits */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_GEOMETRY 4
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9

/* 5.2.4 struct virtio_blk_config offsets */
#define VIRTIO_BLK_CFG_CAPACITY 0u      /* le64, 512-byte sectors */
#define VIRTIO_BLK_CFG_SIZE_MAX 8u      /* le32 */
#define VIRTIO_BLK_CFG_SEG_MAX 12u      /* le32 */
#define VIRTIO_BLK_CFG_BLK_SIZE 20u     /* le32 */

#define VIRTIO_BLK_SECTOR 512u

/* 5.2.6 device operation: request types and status */
#define VIRTIO_BLK_T_IN 0u
#define VIRTIO_BLK_T_OUT 1u
#define VIRTIO_BLK_T_FLUSH 4u
#define VIRTIO_BLK_T_GET_ID 8u
#define VIRTIO_BLK_S_OK 0u
#define VIRTIO_BLK_S_IOERR 1u
#define VIRTIO_BLK_S_UNSUPP 2u

struct virtio_blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
} __attribute__((packed));
_Static_assert(sizeof(struct virtio_blk_req_hdr) == 16, "virtio-blk header is 16 bytes");

#endif
