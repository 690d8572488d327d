/*
 * manifest: the boot manifest model and its validator, shared by the host
 * tool mkmanifest and by init, which validates the manifest again at boot.
 *
 * Two steps, as in seL4's decode-then-invoke: mf_decode() turns the binary
 * capnp BootManifest (schema/manifest.capnp) into a flat, bounded model
 * (struct mf_manifest, caller-provided, no malloc; names point into the
 * message buffer, which must outlive the model), refusing anything that does
 * not fit the bounds below. mf_validate() then checks the model against the
 * rules of docs/manifest.md and computes the order in which init starts the
 * services. Both report the first problem in a struct mf_error whose message
 * names the offending entry.
 *
 * Freestanding: only base/mem.h, base/err.h and the capnp runtime.
 */
#ifndef CAPOS_MANIFEST_MANIFEST_H
#define CAPOS_MANIFEST_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

/* Bounds (docs/manifest.md). */
#define MF_FORMAT_VERSION 1u
#define MF_MAX_SERVICES 64u          /* services per manifest */
#define MF_MAX_GRANTS 512u           /* grants, all services together */
#define MF_MAX_SERVICE_GRANTS 32u    /* grants of one service */
#define MF_MAX_EXPORTS 256u          /* exports, all services together */
#define MF_MAX_SERVICE_EXPORTS 16u   /* exports of one service */
#define MF_MAX_SERVICE_CAPS 32u      /* grants + exports of one service: its bootstrap page
                                        (BOOTSTRAP_MAX_CAPS in lib/abi/ring.h) */
#define MF_MAX_NAME 63u              /* bytes of any name */
#define MF_ISO_MAX 31u               /* ISO 9660 level-3 d-character form */
#define MF_MAX_RESTARTS 100u         /* Service.maxRestarts */
#define MF_MAX_DMA_BUDGET (64ull << 20) /* bytes per DMAPool claim */
#define MF_PAGE_SIZE 4096u
#define MF_MSG_MAX 200u              /* bytes of an error message, with NUL */
#define MF_MAX_MANIFEST_BYTES 65536u /* binary manifest, stream framing included */

/* A name: bytes in the message buffer, not NUL-terminated in the model. */
struct mf_str {
	const char *p;
	uint32_t len;
};

/* Grant sources. Values follow KernelSource's union order where they can;
 * the model is not a wire format. */
enum mf_source {
	MF_SRC_UNSET = 0,
	MF_SRC_CONSOLE,
	MF_SRC_WALL_CLOCK,
	MF_SRC_ENTROPY,
	MF_SRC_PROCESS_SPAWNER,
	MF_SRC_DEVICE_MMIO,
	MF_SRC_INTERRUPT,
	MF_SRC_DMA_POOL,
	MF_SRC_BLOCK_DEVICE,
	MF_SRC_HARDWARE_AUDIT_LOG,
	MF_SRC_SERVICE,      /* another service's export */
	MF_SRC_UNKNOWN,      /* a union member this decoder does not know */
	MF_SRC_KERNEL_UNSET, /* kernel source given, but none of its members */
};

enum mf_pci_kind {
	MF_PCI_UNSET = 0,
	MF_PCI_ADDRESS,      /* seg:bus:dev.fn */
	MF_PCI_IDS,          /* vendor:device, instance-th match */
	MF_PCI_UNKNOWN,
};

struct mf_pci {
	uint8_t kind;        /* enum mf_pci_kind */
	uint8_t bus, dev, fn;
	uint16_t segment;
	uint16_t vendor, device, instance;
};

enum mf_restart {
	MF_RESTART_NEVER = 0,
	MF_RESTART_ON_FAILURE = 1,
	MF_RESTART_ALWAYS = 2,
};

/* InterruptClaim.kind: schema/device.capnp InterruptKind, lib/ddf's enum ddf_irq_kind. */
enum mf_irq_kind {
	MF_IRQ_MSIX = 0,
	MF_IRQ_MSI = 1,
	MF_IRQ_INTX = 2,
};

struct mf_grant {
	struct mf_str name;          /* cap name the service sees */
	uint8_t source;              /* enum mf_source */
	uint8_t bar;                 /* DEVICE_MMIO */
	uint16_t irq_index;          /* INTERRUPT: MSI-X table index */
	uint16_t irq_kind;           /* INTERRUPT: enum mf_irq_kind (= schema InterruptKind) */
	uint64_t dma_budget;         /* DMA_POOL */
	struct mf_pci pci;           /* device sources */
	struct mf_str service;       /* SERVICE: serving service */
	struct mf_str export_name;   /* SERVICE: its export */
};

struct mf_export {
	struct mf_str name;
	uint64_t interface_id;       /* 0 = unspecified */
};

struct mf_service {
	struct mf_str name;
	struct mf_str binary;
	uint32_t first_grant, ngrants;    /* slice of mf_manifest.grants */
	uint32_t first_export, nexports;  /* slice of mf_manifest.exports */
	uint16_t restart;                 /* enum mf_restart (raw wire value) */
	uint32_t max_restarts;
};

struct mf_manifest {
	uint32_t format_version;
	uint32_t nservices, ngrants, nexports;
	struct mf_service services[MF_MAX_SERVICES];
	struct mf_grant grants[MF_MAX_GRANTS];
	struct mf_export exports[MF_MAX_EXPORTS];
	/* Filled by mf_validate(): indices into services[], dependencies first. */
	uint32_t start_order[MF_MAX_SERVICES];
};

struct mf_error {
	int code;                    /* base/err.h code, 0 if none */
	char msg[MF_MSG_MAX];        /* NUL-terminated, names the entry */
};

/* The boot binaries available (a directory listing for mkmanifest, the
 * BootPackage module names for init). */
struct mf_binset {
	const struct mf_str *names;
	uint32_t count;
};

/* Decode a binary capnp BootManifest (stream framing, unpacked) into *out.
 * Returns 0 or a negative code with *err filled. */
int mf_decode(const void *buf, size_t len, struct mf_manifest *out, struct mf_error *err);

/* Check every rule of docs/manifest.md; bins may be NULL to skip the
 * unknown-binary check (never at boot). On success fills start_order. */
int mf_validate(struct mf_manifest *m, const struct mf_binset *bins, struct mf_error *err);

/* ISO 9660 d-character form of a name (docs/manifest.md): writes at most cap
 * bytes and returns the form's full length. */
uint32_t mf_iso_name(struct mf_str name, char *out, uint32_t cap);

/* A name is 1..MF_MAX_NAME bytes of [A-Za-z0-9._-] not starting with '.'. */
int mf_name_ok(struct mf_str name);

/* Distinct binary names the services reference, in first-use order: the
 * module list. Returns the count (<= MF_MAX_SERVICES); out may hold
 * MF_MAX_SERVICES entries. */
uint32_t mf_binaries(const struct mf_manifest *m, struct mf_str *out);

struct mf_str mf_cstr(const char *s);
int mf_str_eq(struct mf_str a, struct mf_str b);
const char *mf_source_name(unsigned source);
/* 1 for the sources the kernel device manager claims and grants at spawn
 * (deviceMmio, interrupt, dmaPool, hardwareAuditLog), 0 otherwise. */
int mf_source_is_device(unsigned source);

#endif
