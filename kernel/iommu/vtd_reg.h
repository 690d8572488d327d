/*
 * Intel VT-d remapping-unit registers (Intel VT-d specification rev. 4.1,
 * 11.4 "Register Descriptions"), the few the probe reads, and the AMD-Vi
 * ones (AMD I/O Virtualization Technology specification 48882 rev. 3.x,
 * 3.4 "IOMMU MMIO Registers"). Read only: capOS never enables translation.
 */
#ifndef CAPOS_VTD_REG_H
#define CAPOS_VTD_REG_H

/* VT-d 11.4.1: VER_REG, 32 bits: 7:4 major, 3:0 minor, 31:8 reserved (0). */
#define VTD_VER			0x000
#define VTD_VER_MAJOR(v)	(((v) >> 4) & 0xF)
#define VTD_VER_MINOR(v)	((v) & 0xF)
#define VTD_VER_RSVD		0xFFFFFF00u

/* VT-d 11.4.2: CAP_REG, 64 bits. */
#define VTD_CAP			0x008
#define VTD_CAP_ND(c)		((c) & 0x7)		/* 7 is reserved */
#define VTD_CAP_SAGAW(c)	(((c) >> 8) & 0x1F)	/* supported AGAWs: at least one */
#define VTD_CAP_MGAW(c)		((((c) >> 16) & 0x3F) + 1)	/* max guest address width */
#define VTD_CAP_FRO(c)		((((c) >> 24) & 0x3FF) * 16)	/* fault recording offset */
#define VTD_CAP_NFR(c)		((((c) >> 40) & 0xFF) + 1)	/* fault recording registers */

/* VT-d 11.4.3: ECAP_REG, 64 bits. */
#define VTD_ECAP		0x010
#define VTD_ECAP_IRO(e)		((((e) >> 8) & 0x3FF) * 16)	/* IOTLB register offset */

#define VTD_REG_PAGE		4096u	/* one register page per unit (DRHD size 0) */
#define VTD_FAULT_REC_SIZE	16u
#define VTD_IOTLB_REGS_SIZE	16u

/* AMD-Vi 3.4: control register and extended feature register, 64 bits. */
#define AMDVI_CONTROL		0x018
#define AMDVI_EFR		0x030

#endif
