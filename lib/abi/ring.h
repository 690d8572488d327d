/*
 * The capability ring: the one shared page between a process and the kernel
 * (docs/kernel-abi.md). Included by the kernel and by userspace; this header
 * is the definition of the layout, nothing else defines it.
 *
 * Page layout (4 KiB, mapped read-write at RING_USER_VA in every process):
 *   [0, 64)        struct ring_hdr: indices and sizes
 *   [64, 1088)     RING_SQ_ENTRIES (16) x struct ring_sqe (64 bytes)
 *   [1088, 3648)   RING_CQ_ENTRIES (32) x struct ring_cqe (80 bytes)
 * The process writes SQEs and advances sq_tail; the kernel consumes them in
 * cap_enter and advances sq_head. The kernel writes CQEs and advances
 * cq_tail; the process consumes them and advances cq_head. Indices are free
 * running uint32 counters, taken modulo the entry count (both powers of two).
 *
 * The kernel reads each index and each SQE exactly once (copying it) before
 * validating it, so a process racing its own ring harms only itself. The
 * kernel never lets the number of operations in flight plus unread
 * completions exceed RING_CQ_ENTRIES: a completion is never dropped; an SQE
 * that would break this stays in the SQ until the process reads completions.
 */
#ifndef CAPOS_ABI_RING_H
#define CAPOS_ABI_RING_H

#include <stdint.h>

#define RING_SQ_ENTRIES	16u
#define RING_CQ_ENTRIES	32u
#define RING_MAX_XFER	4u		/* caps per message, each direction */
#define RING_MAX_MSG	262144u		/* bytes of params or results per message (256 KiB:
					   a 128 KiB block transfer and its framing fit one) */
#define RING_MAX_QUEUED	16u		/* calls queued on one endpoint before RECV */

/* Fixed user virtual addresses (low half; the ELF may not use them). */
#define USER_FLOOR	0x0000000000400000ull	/* lowest address an ELF may load at */
#define USER_CEIL	0x00007FFF00000000ull	/* ELF segments stay below */
#define RING_USER_VA	0x00007FFF10000000ull	/* the ring page */
#define BOOTSTRAP_USER_VA 0x00007FFF10001000ull	/* read-only bootstrap page */
#define USER_STACK_TOP	0x00007FFF20000000ull	/* stack grows down from here */
#define USER_STACK_PAGES 16u			/* 64 KiB; an unmapped guard page below */
#define USER_HEAP_VA	0x0000100000000000ull	/* runtime heap (user/lib), demand-zero */
#define USER_HEAP_PAGES	1024u	/* 4 MiB reserved; a page costs a frame only once touched
				   (docs/processes.md "Memory") */
_Static_assert(USER_HEAP_PAGES >= 2u * RING_MAX_MSG / 4096u + 16u,
	       "a server's receive and reply buffers (rt_serve) fit the heap with room to spare");

/* Opcodes. */
enum ring_op {
	RING_OP_NOP = 0,
	RING_OP_CALL = 1,	/* cap, method, params, result buffer, transfers */
	RING_OP_RECV = 2,	/* endpoint cap, buffer for params; xfer_count = caps accepted */
	RING_OP_RETURN = 3,	/* endpoint cap, token from RECV, results, result caps */
	RING_OP_RELEASE = 4,	/* cap */
};

/*
 * Transfer modes (struct ring_xfer.mode): the low 8 bits. COPY and MOVE
 * keep the cap's badge. MINT (docs/kernel-abi.md, "Badges") takes an
 * endpoint the sender holds with the server facet and gives the receiver
 * a CALL-facet cap to it carrying the badge in bits 8..31 (nonzero); the
 * sender keeps its cap. Bits 8..31 must be 0 for COPY and MOVE.
 */
#define RING_XFER_COPY	0u
#define RING_XFER_MOVE	1u
#define RING_XFER_MINT	2u
#define RING_XFER_MODE(m)	((m) & 0xFFu)
#define RING_XFER_BADGE(m)	((m) >> 8)
#define RING_BADGE_MAX	0xFFFFFFu	/* badges are 24 bits */
/* The mode word of a MINT with badge b (1 ..= RING_BADGE_MAX). */
#define RING_XFER_MINT_BADGE(b)	(RING_XFER_MINT | (uint32_t)(b) << 8)

/* RETURN flags. */
#define RING_RET_EXCEPTION 1u	/* the results are a serialized capnp Exception */

/*
 * RECV flags: reply, then receive (seL4's ReplyRecv; docs/kernel-abi.md).
 * With RING_RECV_REPLY a RECV first RETURNs the call `token` with the
 * results params[params_len] (no result caps), then posts the receive. The
 * only completion is the receive's; if the reply part is refused, the
 * submission completes with that error and no receive is posted.
 */
#define RING_RECV_REPLY		1u
#define RING_RECV_REPLY_EXCEPTION 2u	/* with RING_RECV_REPLY: the results are an Exception */

/*
 * Completion results: >= 0 success (bytes written to the result buffer);
 * < 0 one of these transport errors, with cqe.detail a base/err.h code
 * saying why. RING_E_EXCEPTION: the callee raised an application error; the
 * result buffer holds a serialized Exception (schema/exception.capnp) of
 * cqe.len bytes.
 */
#define RING_E_INVALID_REQUEST	(-1)	/* bad opcode field, cap, token, reserved bits */
#define RING_E_INVALID_PARAMS	(-2)	/* params buffer outside user memory / too big / malformed */
#define RING_E_INVALID_RESULT	(-3)	/* result buffer outside user memory or too small */
#define RING_E_INVOKE_FAILED	(-4)	/* the call could not be delivered (transfer refused, ...) */
#define RING_E_UNSUPPORTED	(-5)	/* unknown opcode */
#define RING_E_EXCEPTION	(-6)	/* application error: Exception in the result buffer */

/* CapId: slot in the low 16 bits, the slot's generation in the high 16. 0 is never valid. */
typedef uint32_t capid_t;
#define CAPID_SLOT(c)	((c) & 0xFFFFu)
#define CAPID_GEN(c)	((c) >> 16)
#define CAPID_MAKE(slot, gen) ((uint32_t)(gen) << 16 | (uint32_t)(slot))

struct ring_xfer {
	capid_t cap;
	uint32_t mode;		/* RING_XFER_COPY, RING_XFER_MOVE or RING_XFER_MINT_BADGE(b) */
};
_Static_assert(sizeof(struct ring_xfer) == 8, "ring_xfer layout");

struct ring_sqe {
	uint8_t opcode;
	uint8_t flags;		/* RETURN: RING_RET_*; otherwise 0 */
	uint16_t method;	/* CALL: method ordinal */
	capid_t cap;		/* CALL/RELEASE: target; RECV/RETURN: endpoint */
	uint64_t user_data;	/* echoed in the completion */
	uint64_t params;	/* CALL: params; RETURN: results (user address) */
	uint32_t params_len;
	uint32_t result_len;
	uint64_t result;	/* CALL/RECV: buffer the kernel writes into */
	uint64_t xfer;		/* user address of struct ring_xfer[xfer_count] */
	uint32_t xfer_count;	/* RECV: how many caps the receiver accepts */
	uint32_t token;		/* RETURN: the call token a RECV completion gave */
	uint64_t reserved;	/* must be 0 */
};
_Static_assert(sizeof(struct ring_sqe) == 64, "ring_sqe layout");

struct ring_cqe {
	uint64_t user_data;
	int32_t result;		/* >= 0 bytes written; < 0 RING_E_* */
	int32_t detail;		/* base/err.h code behind a negative result */
	uint32_t len;		/* bytes in the result buffer (also for an exception) */
	uint16_t method;	/* RECV: method ordinal of the call */
	uint16_t ncaps;		/* caps received (CALL results, RECV params) */
	uint32_t token;		/* RECV: pass to RETURN */
	uint32_t badge;		/* RECV: badge of the cap the call came in on (0: unbadged) */
	capid_t caps[RING_MAX_XFER];	/* the received caps, installed in this process */
	uint64_t iids[RING_MAX_XFER];	/* their interface ids (check before adopting) */
};
_Static_assert(sizeof(struct ring_cqe) == 80, "ring_cqe layout");

struct ring_hdr {
	volatile uint32_t sq_head;	/* kernel writes */
	volatile uint32_t sq_tail;	/* process writes */
	volatile uint32_t cq_head;	/* process writes */
	volatile uint32_t cq_tail;	/* kernel writes */
	uint32_t sq_entries, cq_entries;
	uint32_t reserved[10];
};
_Static_assert(sizeof(struct ring_hdr) == 64, "ring_hdr layout");

struct ring_page {
	struct ring_hdr hdr;
	struct ring_sqe sq[RING_SQ_ENTRIES];
	struct ring_cqe cq[RING_CQ_ENTRIES];
};
_Static_assert(sizeof(struct ring_page) <= 4096, "the ring fits one page");

/*
 * Bootstrap page (read-only, BOOTSTRAP_USER_VA): the caps a process started
 * with, by name and interface id.
 */
#define BOOTSTRAP_MAGIC	0x31544f4253504143ull	/* "CAPSBOT1" */
#define BOOTSTRAP_MAX_CAPS 32u
#define BOOTSTRAP_NAME	48u
struct bootstrap_cap {
	char name[BOOTSTRAP_NAME];	/* NUL-terminated */
	uint64_t interface_id;
	capid_t cap;
	uint32_t reserved;
};
_Static_assert(sizeof(struct bootstrap_cap) == 64, "bootstrap_cap layout");

struct bootstrap_page {
	uint64_t magic;
	uint32_t ncaps;
	uint32_t pid;
	char name[48];			/* the process name */
	struct bootstrap_cap caps[BOOTSTRAP_MAX_CAPS];
};
_Static_assert(sizeof(struct bootstrap_page) <= 4096, "bootstrap fits one page");

/* System calls (syscall instruction): rax = number, args in rdi, rsi. */
#define SYS_CAP_ENTER	0	/* (min_complete, timeout_ns) -> completions available or < 0 */
#define SYS_EXIT	1	/* (code) -> does not return */

/* Interface id of a raw endpoint (server side) and its CALL-only facet
 * are the served interface's id; the kernel-only Endpoint type is this id. */
#define ENDPOINT_INTERFACE_ID 0xe9d0c0a1b2c3d4e5ull

#endif
