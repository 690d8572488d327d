/*
 * NVMe controller registers, commands and data structures. Section numbers
 * are those of the NVM Express Base Specification 1.4 (3.1 controller
 * registers, 4.2/4.6 SQE/CQE, 5 admin commands) and the NVM Command Set
 * (read/write/flush). Constants and packed wire layouts only.
 */
#ifndef CAPOS_DRIVERS_NVME_REG_H
#define CAPOS_DRIVERS_NVME_REG_H

#include <stdint.h>

/* 3.1 Controller registers (BAR0) */
#define NVME_REG_CAP 0x00u      /* 64-bit, read as two dwords */
#define NVME_REG_VS 0x08u
#define NVME_REG_INTMS 0x0cu
#define NVME_REG_INTMC 0x10u
#define NVME_REG_CC 0x14u
#define NVME_REG_CSTS 0x1cu
#define NVME_REG_AQA 0x24u
#define NVME_REG_ASQ 0x28u      /* 64-bit: brokered address */
#define NVME_REG_ACQ 0x30u      /* 64-bit: brokered address */
#define NVME_REG_DBS 0x1000u    /* 3.1.24/25 doorbells */

/* 3.1.1 CAP */
#define NVME_CAP_MQES(c) ((uint32_t)((c) & 0xffffu))            /* 0's based */
#define NVME_CAP_CQR(c) ((uint32_t)(((c) >> 16) & 1u))
#define NVME_CAP_TO(c) ((uint32_t)(((c) >> 24) & 0xffu))        /* 500 ms units */
#define NVME_CAP_DSTRD(c) ((uint32_t)(((c) >> 32) & 0xfu))
#define NVME_CAP_CSS_NVM(c) ((uint32_t)(((c) >> 37) & 1u))
#define NVME_CAP_MPSMIN(c) ((uint32_t)(((c) >> 48) & 0xfu))     /* 2^(12+n) */

/* 3.1.5 CC */
#define NVME_CC_EN 0x1u
#define NVME_CC_CSS_NVM (0u << 4)
#define NVME_CC_MPS_SHIFT 7
#define NVME_CC_AMS_RR (0u << 11)
#define NVME_CC_SHN_MASK (3u << 14)
#define NVME_CC_SHN_NORMAL (1u << 14)
#define NVME_CC_IOSQES_SHIFT 16
#define NVME_CC_IOCQES_SHIFT 20

/* 3.1.6 CSTS */
#define NVME_CSTS_RDY 0x1u
#define NVME_CSTS_CFS 0x2u
#define NVME_CSTS_SHST_MASK (3u << 2)
#define NVME_CSTS_SHST_DONE (2u << 2)
#define NVME_CSTS_ABSENT 0xffffffffu    /* all-ones: device gone */

/* 3.1.8 AQA (0's based sizes) */
#define NVME_AQA(sq, cq) ((uint32_t)(((sq) - 1u) & 0xfffu) | (uint32_t)((((cq) - 1u) & 0xfffu) << 16))

#define NVME_PAGE_SIZE 4096u            /* CC.MPS = 0 */
#define NVME_SQE_SIZE 64u
#define NVME_CQE_SIZE 16u
#define NVME_SQES_LOG 6u
#define NVME_CQES_LOG 4u

/* 5 Admin opcodes */
#define NVME_ADM_DELETE_SQ 0x00u
#define NVME_ADM_CREATE_SQ 0x01u
#define NVME_ADM_DELETE_CQ 0x04u
#define NVME_ADM_CREATE_CQ 0x05u
#define NVME_ADM_IDENTIFY 0x06u

/* 5.15 Identify CNS values */
#define NVME_CNS_NS 0x00u
#define NVME_CNS_CTRL 0x01u

/* 5.3/5.4 Create I/O CQ/SQ dword 11 */
#define NVME_CQ_PC 0x1u
#define NVME_CQ_IEN 0x2u
#define NVME_SQ_PC 0x1u

/* NVM command set opcodes */
#define NVME_CMD_FLUSH 0x00u
#define NVME_CMD_WRITE 0x01u
#define NVME_CMD_READ 0x02u

/* 4.6.1 CQE status field (bits of the upper 16 bits of dword 3) */
#define NVME_STATUS_P 0x1u
#define NVME_STATUS_SC(s) ((uint32_t)(((s) >> 1) & 0xffu))
#define NVME_STATUS_SCT(s) ((uint32_t)(((s) >> 9) & 0x7u))
#define NVME_STATUS_DNR(s) ((uint32_t)(((s) >> 15) & 1u))
#define NVME_SCT_GENERIC 0u
#define NVME_SC_SUCCESS 0u
#define NVME_SC_INVALID_OPCODE 0x01u
#define NVME_SC_INVALID_FIELD 0x02u
#define NVME_SC_LBA_RANGE 0x80u

/* 4.2 Submission queue entry */
struct nvme_sqe {
	uint8_t opc;
	uint8_t flags;          /* FUSE 1:0, PSDT 7:6 (0 = PRPs) */
	uint16_t cid;
	uint32_t nsid;
	uint32_t cdw2;
	uint32_t cdw3;
	uint64_t mptr;
	uint64_t prp1;          /* written by the environment only */
	uint64_t prp2;          /* written by the environment only */
	uint32_t cdw10;
	uint32_t cdw11;
	uint32_t cdw12;
	uint32_t cdw13;
	uint32_t cdw14;
	uint32_t cdw15;
} __attribute__((packed));
_Static_assert(sizeof(struct nvme_sqe) == NVME_SQE_SIZE, "SQE is 64 bytes");
#define NVME_SQE_PRP1_OFF 24u
#define NVME_SQE_PRP2_OFF 32u

/* 4.6 Completion queue entry */
struct nvme_cqe {
	uint32_t dw0;
	uint32_t dw1;
	uint16_t sqhd;
	uint16_t sqid;
	uint16_t cid;
	uint16_t status;        /* bit 0: phase tag */
} __attribute__((packed));
_Static_assert(sizeof(struct nvme_cqe) == NVME_CQE_SIZE, "CQE is 16 bytes");

/* 5.15.2.1 Identify Controller data structure: offsets used */
#define NVME_IDC_VID 0u
#define NVME_IDC_SN 4u          /* 20 bytes ASCII */
#define NVME_IDC_MN 24u         /* 40 bytes ASCII */
#define NVME_IDC_MDTS 77u
#define NVME_IDC_SQES 512u
#define NVME_IDC_CQES 513u
#define NVME_IDC_NN 516u        /* le32 */
#define NVME_IDC_VWC 525u

/* 5.15.2.2 Identify Namespace data structure: offsets used */
#define NVME_IDN_NSZE 0u        /* le64 */
#define NVME_IDN_NCAP 8u        /* le64 */
#define NVME_IDN_NLBAF 25u      /* 0's based */
#define NVME_IDN_FLBAS 26u
#define NVME_IDN_LBAF 128u      /* 16 x 4 bytes: MS 15:0, LBADS 23:16 */
#define NVME_IDN_FLBAS_IDX(f) ((uint32_t)((f) & 0xfu))
#define NVME_IDN_LBAF_MS(l) ((uint32_t)((l) & 0xffffu))
#define NVME_IDN_LBAF_LBADS(l) ((uint32_t)(((l) >> 16) & 0xffu))

#define NVME_IDENTIFY_SIZE 4096u

#endif
