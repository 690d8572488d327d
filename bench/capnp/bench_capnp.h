/* Interface between the C (capOS runtime) and C++ (libcapnp) halves of
 * bench-capnp: the same input data, the same checksums. */
#ifndef BENCH_CAPNP_H
#define BENCH_CAPNP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct bench_grant {
	const char *name, *source;
	uint64_t iface;
	uint16_t method;
};

struct bench_service {
	const char *name, *binary, *args[2];
	uint8_t priority;
	int restart;
	struct bench_grant grant[4];
};

struct bench_manifest {
	uint32_t nsvc;
	struct bench_service svc[12];
};

struct bench_record {
	uint64_t id, mtime;
	uint32_t flags;
	const char *name;
	const uint8_t *payload;
	size_t payload_len;
};

uint64_t bench_c_read_manifest(const void *buf, size_t len);
int bench_c_build_manifest(const struct bench_manifest *in, void *arena, size_t arena_len,
    void *out, size_t out_len);
uint64_t bench_c_read_record(const void *buf, size_t len);
int bench_c_build_record(const struct bench_record *in, void *arena, size_t arena_len,
    void *out, size_t out_len);

#ifdef __cplusplus
}
#endif

#endif
