/*
 * virtio 1.x PCI transport and split-virtqueue wire definitions. Section
 * numbers are those of the virtio 1.1/1.2 specification ("Virtual I/O Device
 * (VIRTIO) Version 1.x", OASIS). Only constants and packed wire layouts live
 * here; driver state is in virtio.h / virtq.h.
 */
#ifndef CAPOS_DRIVERS_VIRTIO_REG_H
#define CAPOS_DRIVERS_VIRTIO_REG_H

#include <stdint.h>

#define VIRTIO_PCI_VENDOR 0x1af4u

/* 2.1 Device status field */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01u
#define VIRTIO_STATUS_DRIVER 0x02u
#define VIRTIO_STATUS_DRIVER_OK 0x04u
#define VIRTIO_STATUS_FEATURES_OK 0x08u
#define VIRTIO_STATUS_NEEDS_RESET 0x40u
#define VIRTIO_STATUS_FAILED 0x80u

/* 6 Reserved feature bits */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33

/* 4.1.4 Virtio structure PCI capabilities */
#define PCI_CFG_STATUS 0x06u
#define PCI_STATUS_CAP_LIST 0x0010u
#define PCI_CFG_CAP_PTR 0x34u
#define PCI_CAP_ID_VENDOR 0x09u

#define VIRTIO_PCI_CAP_COMMON_CFG 1u
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2u
#define VIRTIO_PCI_CAP_ISR_CFG 3u
#define VIRTIO_PCI_CAP_DEVICE_CFG 4u
#define VIRTIO_PCI_CAP_PCI_CFG 5u

/* struct virtio_pci_cap (4.1.4), byte offsets within the capability */
#define VIRTIO_PCI_CAP_VNDR 0u
#define VIRTIO_PCI_CAP_NEXT 1u
#define VIRTIO_PCI_CAP_LEN 2u
#define VIRTIO_PCI_CAP_CFG_TYPE 3u
#define VIRTIO_PCI_CAP_BAR 4u
#define VIRTIO_PCI_CAP_OFFSET 8u
#define VIRTIO_PCI_CAP_LENGTH 12u
#define VIRTIO_PCI_CAP_SIZE 16u
/* struct virtio_pci_notify_cap (4.1.4.4) */
#define VIRTIO_PCI_NOTIFY_MULT 16u
#define VIRTIO_PCI_NOTIFY_CAP_SIZE 20u

/* 4.1.4.3 struct virtio_pci_common_cfg: offsets and access widths */
#define VIRTIO_COMMON_DFSELECT 0x00u    /* le32 */
#define VIRTIO_COMMON_DF 0x04u          /* le32 RO */
#define VIRTIO_COMMON_GFSELECT 0x08u    /* le32 */
#define VIRTIO_COMMON_GF 0x0cu          /* le32 */
#define VIRTIO_COMMON_MSIX 0x10u        /* le16 */
#define VIRTIO_COMMON_NUMQ 0x12u        /* le16 RO */
#define VIRTIO_COMMON_STATUS 0x14u      /* u8 */
#define VIRTIO_COMMON_CFGGEN 0x15u      /* u8 RO */
#define VIRTIO_COMMON_Q_SELECT 0x16u    /* le16 */
#define VIRTIO_COMMON_Q_SIZE 0x18u      /* le16 */
#define VIRTIO_COMMON_Q_MSIX 0x1au      /* le16 */
#define VIRTIO_COMMON_Q_ENABLE 0x1cu    /* le16 */
#define VIRTIO_COMMON_Q_NOFF 0x1eu      /* le16 RO */
#define VIRTIO_COMMON_Q_DESC 0x20u      /* le64: brokered address */
#define VIRTIO_COMMON_Q_DRIVER 0x28u    /* le64: brokered address */
#define VIRTIO_COMMON_Q_DEVICE 0x30u    /* le64: brokered address */
#define VIRTIO_COMMON_CFG_SIZE 0x38u
#define VIRTIO_MSI_NO_VECTOR 0xffffu

/* 4.1.4.5 ISR status */
#define VIRTIO_ISR_QUEUE 0x1u
#define VIRTIO_ISR_CONFIG 0x2u

/* 4.1.5.1 legacy interface: I/O BAR 0 layout without MSI-X */
#define VIRTIO_LEGACY_HOST_FEATURES 0u  /* le32 RO */
#define VIRTIO_LEGACY_GUEST_FEATURES 4u /* le32 */
#define VIRTIO_LEGACY_QUEUE_PFN 8u      /* le32: brokered address >> 12 */
#define VIRTIO_LEGACY_QUEUE_NUM 12u     /* le16 RO */
#define VIRTIO_LEGACY_QUEUE_SEL 14u     /* le16 */
#define VIRTIO_LEGACY_QUEUE_NOTIFY 16u  /* le16 */
#define VIRTIO_LEGACY_STATUS 18u        /* u8 */
#define VIRTIO_LEGACY_ISR 19u           /* u8, read clears */
#define VIRTIO_LEGACY_CONFIG 20u        /* device config without MSI-X */
#define VIRTIO_LEGACY_CONFIG_MSIX 24u   /* device config with MSI-X enabled */
#define VIRTIO_LEGACY_MSIX_CONFIG 20u   /* le16, with MSI-X: config change vector */
#define VIRTIO_LEGACY_MSIX_QUEUE 22u    /* le16, with MSI-X: selected queue's vector */
#define VIRTIO_LEGACY_ALIGN 4096u       /* 2.7.2 legacy used-ring alignment */
#define VIRTIO_LEGACY_PFN_SHIFT 12u

/* 2.7 Split virtqueues */
#define VIRTQ_MAX_SIZE 32768u           /* 2.7: Queue Size max 32768 */
#define VIRTQ_DESC_F_NEXT 1u
#define VIRTQ_DESC_F_WRITE 2u
#define VIRTQ_DESC_F_INDIRECT 4u
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define VIRTQ_USED_F_NO_NOTIFY 1u

/* 2.7.5 The Virtqueue Descriptor Table */
struct virtq_desc {
	uint64_t addr;                  /* written by the environment only */
	uint32_t len;
	uint16_t flags;
	uint16_t next;
} __attribute__((packed));
_Static_assert(sizeof(struct virtq_desc) == 16, "virtq_desc is 16 bytes");

/* 2.7.6 The Virtqueue Available Ring: flags, idx, ring[N], used_event */
struct virtq_avail_hdr {
	uint16_t flags;
	uint16_t idx;
} __attribute__((packed));
_Static_assert(sizeof(struct virtq_avail_hdr) == 4, "avail header is 4 bytes");

/* 2.7.8 The Virtqueue Used Ring: flags, idx, ring[N], avail_event */
struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
} __attribute__((packed));
_Static_assert(sizeof(struct virtq_used_elem) == 8, "used elem is 8 bytes");

struct virtq_used_hdr {
	uint16_t flags;
	uint16_t idx;
} __attribute__((packed));
_Static_assert(sizeof(struct virtq_used_hdr) == 4, "used header is 4 bytes");

#endif
