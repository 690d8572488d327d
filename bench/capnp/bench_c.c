/*
 * The capOS side of bench-capnp: read and build the boot-manifest-like
 * message and the 4 KiB record with the generated C accessors
 * (tests/host/capnp/test.capnp). Each function returns a checksum so the
 * compiler cannot drop the work; the C++ side computes the same sums.
 */
#include "bench_capnp.h"
#include "capnp/capnp.h"
#include "tests/host/capnp/test.capnp.h"

static uint64_t
sum_text(int err, struct capnp_text t)
{
	return err < 0 ? 0 : t.len + (uint8_t)t.str[0];
}

uint64_t
bench_c_read_manifest(const void *buf, size_t len)
{
	struct capnp_msg m;
	struct capnp_list svcs, grants, args, bins;
	struct capnp_text t;
	Manifest_R man;
	Service_R s;
	Grant_R g;
	uint64_t sum = 0;
	uint32_t i, j;

	if (capnp_msg_init(&m, buf, len) < 0 || Manifest_root(&m, &man) < 0)
		return 0;
	sum += Manifest_get_version(man);
	if (Manifest_get_binaries(man, &bins) < 0 || Manifest_get_services(man, &svcs) < 0)
		return 0;
	for (i = 0; i < bins.count; i++)
		sum += sum_text(capnp_ptr_text(capnp_list_ptr(&bins, i), &t), t);
	for (i = 0; i < svcs.count; i++) {
		Service_list_get(&svcs, i, &s);
		sum += sum_text(Service_get_name(s, &t), t);
		sum += sum_text(Service_get_binary(s, &t), t);
		sum += Service_get_priority(s) + Service_get_restart(s);
		if (Service_get_args(s, &args) < 0 || Service_get_grants(s, &grants) < 0)
			return 0;
		for (j = 0; j < args.count; j++)
			sum += sum_text(capnp_ptr_text(capnp_list_ptr(&args, j), &t), t);
		for (j = 0; j < grants.count; j++) {
			Grant_list_get(&grants, j, &g);
			sum += sum_text(Grant_get_name(g, &t), t);
			sum += sum_text(Grant_get_source(g, &t), t);
			sum += Grant_get_interfaceId(g) + Grant_get_method(g);
		}
	}
	return sum;
}

static int
set_str(struct capnp_bptr p, const char *s)
{
	return capnp_bptr_set_text(p, s, strlen(s));
}

int
bench_c_build_manifest(const struct bench_manifest *in, void *arena, size_t arena_len,
    void *out, size_t out_len)
{
	struct capnp_builder b;
	struct capnp_blist svcs, grants, args, bins;
	Manifest_B man;
	Service_B s;
	Grant_B g;
	uint32_t i, j;

	if (capnp_builder_init(&b, arena, arena_len, 0) < 0 || Manifest_init_root(&b, &man) < 0)
		return -1;
	Manifest_set_version(man, 1);
	if (Manifest_init_binaries(man, in->nsvc, &bins) < 0 ||
	    Manifest_init_services(man, in->nsvc, &svcs) < 0)
		return -1;
	for (i = 0; i < in->nsvc; i++) {
		const struct bench_service *sv = &in->svc[i];
		set_str(capnp_blist_ptr(&bins, i), sv->binary);
		Service_blist_get(&svcs, i, &s);
		set_str(Service_ptr_name(s), sv->name);
		set_str(Service_ptr_binary(s), sv->binary);
		Service_set_priority(s, sv->priority);
		Service_set_restart(s, sv->restart);
		if (Service_init_args(s, 2, &args) < 0 || Service_init_grants(s, 4, &grants) < 0)
			return -1;
		for (j = 0; j < 2; j++)
			set_str(capnp_blist_ptr(&args, j), sv->args[j]);
		for (j = 0; j < 4; j++) {
			Grant_blist_get(&grants, j, &g);
			set_str(Grant_ptr_name(g), sv->grant[j].name);
			set_str(Grant_ptr_source(g), sv->grant[j].source);
			Grant_set_interfaceId(g, sv->grant[j].iface);
			Grant_set_method(g, sv->grant[j].method);
		}
	}
	return capnp_builder_write(&b, out, out_len);
}

uint64_t
bench_c_read_record(const void *buf, size_t len)
{
	struct capnp_msg m;
	struct capnp_text t;
	struct capnp_data d;
	Record_R r;
	uint64_t sum = 0;

	if (capnp_msg_init(&m, buf, len) < 0 || Record_root(&m, &r) < 0)
		return 0;
	sum += Record_get_id(r) + Record_get_mtime(r) + Record_get_flags(r);
	sum += sum_text(Record_get_name(r, &t), t);
	if (Record_get_payload(r, &d) < 0 || d.len == 0)
		return 0;
	sum += d.len + d.ptr[0] + d.ptr[d.len - 1];
	return sum;
}

int
bench_c_build_record(const struct bench_record *in, void *arena, size_t arena_len, void *out,
    size_t out_len)
{
	struct capnp_builder b;
	Record_B r;

	if (capnp_builder_init(&b, arena, arena_len, 0) < 0 || Record_init_root(&b, &r) < 0)
		return -1;
	Record_set_id(r, in->id);
	Record_set_mtime(r, in->mtime);
	Record_set_flags(r, in->flags);
	if (Record_set_name(r, in->name, strlen(in->name)) < 0 ||
	    Record_set_payload(r, in->payload, in->payload_len) < 0)
		return -1;
	return capnp_builder_write(&b, out, out_len);
}
