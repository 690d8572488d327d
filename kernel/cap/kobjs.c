/*
 * Kernel-served interfaces: Console (COM1), WallClock (CMOS RTC),
 * EntropySource (RDRAND, fail closed), ProcessSpawner, ProcessHandle,
 * BootPackage and EndpointFactory. Each handler decodes the params
 * completely, then acts; unknown ordinals get `unimplemented`, undecodable
 * params `invalidArgument`. Results are built with the generated accessors
 * in a static arena (the big kernel lock serialises all of this).
 */
#include "proc/proc.h"
#include "arch/x86_64/x86.h"
#include "boot/cmdline.h"
#include "boot/mb2.h"
#include "capnp/capnp.h"
#include "kernel.h"
#include "mm/heap.h"
#include "sched/sched.h"
#include "schema/base.capnp.h"
#include "schema/exception.capnp.h"
#include "schema/ipc.capnp.h"
#include "schema/manifest.capnp.h"
#include "schema/process.capnp.h"
#include "schema/types.capnp.h"
#include "smp/percpu.h"

#define CONSOLE_MAX	1024u	/* bytes per write */
#define ENTROPY_MAX	256u	/* bytes per getRandom */
#define BOOT_READ_MAX	16384u	/* bytes per readManifest chunk */

struct kobj ko_console = { Console_TYPE_ID, 1, 1, KO_CONSOLE, true };
struct kobj ko_clock = { WallClock_TYPE_ID, 1, 1, KO_CLOCK, true };
struct kobj ko_entropy = { EntropySource_TYPE_ID, 1, 1, KO_ENTROPY, true };
struct kobj ko_spawner = { ProcessSpawner_TYPE_ID, 1, 1, KO_SPAWNER, true };
struct kobj ko_bootpkg = { BootPackage_TYPE_ID, 1, 1, KO_BOOTPKG, true };
struct kobj ko_epfactory = { EndpointFactory_TYPE_ID, 1, 1, KO_EPFACTORY, true };

struct prochandle {
	struct kobj k;
	struct proc *p;
	struct call *waiters;
};

static uint64_t arena[RING_MAX_MSG / 8 / 4];
static uint64_t out[RING_MAX_MSG / 8 / 4];
static struct capnp_builder B;
static struct capnp_msg M;

static struct capnp_builder *
builder(void)
{
	capnp_builder_init(&B, arena, sizeof arena, 0);
	return &B;
}

/* Send the built message as the call's result, with result caps x[nx]. */
static void
reply(struct call *c, struct xfer *x, uint32_t nx)
{
	int n = capnp_builder_write(&B, out, sizeof out);
	if (n < 0) {
		xfer_rollback(x, nx);
		call_complete_exception(c, ExceptionType_failed, "result too large");
		return;
	}
	call_complete(c, n, 0, out, (uint32_t)n, x, nx);
}

static int
params_root(struct call *c, struct capnp_struct *root)
{
	if (capnp_msg_init(&M, c->params, c->params_len) < 0 || capnp_msg_root(&M, root) < 0)
		return E_CORRUPT;
	return 0;
}

static void
bad_params(struct call *c)
{
	call_complete_exception(c, ExceptionType_invalidArgument, "params do not decode");
}

static void
unimplemented(struct call *c)
{
	call_complete_exception(c, ExceptionType_unimplemented, "unknown method ordinal");
}

/* ---- Console ---- */

static void
console_call(struct call *c)
{
	struct capnp_struct root;
	struct capnp_text t;
	ConsoleResult_B r;

	if (c->method > Console_writeLine_ORDINAL)
		return unimplemented(c);
	if (params_root(c, &root) < 0 || capnp_ptr_text(capnp_struct_ptr(&root, 0), &t) < 0)
		return bad_params(c);
	Console_write_Results_B res;	/* write and writeLine results have one layout */
	Console_write_Results_init_root(builder(), &res);
	Console_write_Results_init_result(res, &r);
	if (t.len > CONSOLE_MAX) {
		ConsoleResult_set_tooLong(r, CONSOLE_MAX);
	} else {
		kprintf("%.*s%s", (int)t.len, t.str, c->method == Console_writeLine_ORDINAL ? "\n" : "");
		ConsoleResult_set_ok(r);
	}
	reply(c, NULL, 0);
}

/* ---- WallClock: CMOS RTC, read twice until stable (MC146818) ---- */

static uint8_t
cmos(uint8_t reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static bool
rtc_read(int64_t *secs)
{
	uint8_t v[6], w[6], b;
	for (int tries = 0; tries < 5; tries++) {
		for (int i = 0; i < 10000 && (cmos(0x0A) & 0x80); i++)
			;
		static const uint8_t regs[6] = { 0, 2, 4, 7, 8, 9 };
		for (int i = 0; i < 6; i++)
			v[i] = cmos(regs[i]);
		for (int i = 0; i < 6; i++)
			w[i] = cmos(regs[i]);
		if (memcmp(v, w, 6) == 0)
			goto ok;
	}
	return false;
ok:
	b = cmos(0x0B);
	if (!(b & 4))
		for (int i = 0; i < 6; i++)
			v[i] = (uint8_t)((v[i] & 0x0F) + (v[i] >> 4) * 10 - ((i == 2) ? 0 : 0));
	int hour = v[2] & 0x7F;
	if (!(b & 4) && (v[2] & 0x80))
		hour = (w[2] & 0x0F) + ((w[2] & 0x70) >> 4) * 10;
	if (!(b & 2) && (w[2] & 0x80))
		hour = (hour % 12) + 12;
	int64_t y = 2000 + v[5], m = v[4], d = v[3];
	if (m < 1 || m > 12 || d < 1 || d > 31 || hour > 23 || v[1] > 59 || v[0] > 60)
		return false;
	/* days from civil (Howard Hinnant) */
	y -= m <= 2;
	int64_t era = y / 400, yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t days = era * 146097 + doe - 719468;
	*secs = days * 86400 + hour * 3600 + v[1] * 60 + v[0];
	return true;
}

static void
clock_call(struct call *c)
{
	if (c->method == WallClock_now_ORDINAL) {
		WallClock_now_Results_B res;
		WallClockResult_B r;
		Timestamp_B ts;
		int64_t s;
		WallClock_now_Results_init_root(builder(), &res);
		WallClock_now_Results_init_result(res, &r);
		if (rtc_read(&s)) {
			WallClockResult_init_time(r, &ts);
			Timestamp_set_seconds(ts, s);
		} else {
			WallClockResult_set_unavailable(r);
		}
		return reply(c, NULL, 0);
	}
	if (c->method == WallClock_monotonicNanos_ORDINAL) {
		WallClock_monotonicNanos_Results_B res;
		WallClock_monotonicNanos_Results_init_root(builder(), &res);
		WallClock_monotonicNanos_Results_set_nanos(res, sched_ticks * NS_PER_TICK);
		return reply(c, NULL, 0);
	}
	unimplemented(c);
}

/* ---- EntropySource: RDRAND only; no fallback (fails closed) ---- */

static bool
rdrand64(uint64_t *v)
{
	for (int i = 0; i < 10; i++) {
		uint8_t ok;
		__asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok));
		if (ok)
			return true;
	}
	return false;
}

static void
entropy_call(struct call *c)
{
	struct capnp_struct root;
	EntropySource_getRandom_Results_B res;
	EntropyResult_B r;
	uint32_t a, b, cx, d;
	uint8_t bytes[ENTROPY_MAX];

	if (c->method != EntropySource_getRandom_ORDINAL)
		return unimplemented(c);
	if (params_root(c, &root) < 0)
		return bad_params(c);
	uint32_t len = capnp_get_u32(&root, 0);
	EntropySource_getRandom_Results_init_root(builder(), &res);
	EntropySource_getRandom_Results_init_result(res, &r);
	cpuid(1, 0, &a, &b, &cx, &d);
	if (len > ENTROPY_MAX) {
		EntropyResult_set_tooLarge(r, ENTROPY_MAX);
		return reply(c, NULL, 0);
	}
	bool ok = cx & (1u << 30);
	for (uint32_t i = 0; ok && i < len; i += 8) {
		uint64_t v;
		ok = rdrand64(&v);
		memcpy(bytes + i, &v, len - i < 8 ? len - i : 8);
	}
	if (ok)
		EntropyResult_set_bytes(r, bytes, len);
	else
		EntropyResult_set_unavailable(r);
	reply(c, NULL, 0);
}

/* ---- BootPackage ---- */

static const char *
manifest_name(void)
{
	static char name[64];
	if (cmdline_get(boot_info.cmdline, "capos.manifest", name, sizeof name) == 1)
		return name;
	return "manifest.bin";
}

static void
bootpkg_call(struct call *c)
{
	const void *data = NULL;
	uint64_t size = 0;
	struct capnp_struct root;

	proc_find_module(manifest_name(), &data, &size);
	switch (c->method) {
	case BootPackage_manifestSize_ORDINAL: {
		BootPackage_manifestSize_Results_B res;
		BootPackage_manifestSize_Results_init_root(builder(), &res);
		BootPackage_manifestSize_Results_set_size(res, size);
		return reply(c, NULL, 0);
	}
	case BootPackage_readManifest_ORDINAL: {
		BootPackage_readManifest_Results_B res;
		BootReadResult_B r;
		if (params_root(c, &root) < 0)
			return bad_params(c);
		uint64_t off = capnp_get_u64(&root, 0);
		uint32_t max = capnp_get_u32(&root, 8);
		if (max > BOOT_READ_MAX)
			max = BOOT_READ_MAX;
		BootPackage_readManifest_Results_init_root(builder(), &res);
		BootPackage_readManifest_Results_init_result(res, &r);
		if (off > size)
			BootReadResult_set_outOfRange(r);
		else
			BootReadResult_set_data(r, (const uint8_t *)data + off,
						size - off < max ? size - off : max);
		return reply(c, NULL, 0);
	}
	case BootPackage_binaries_ORDINAL: {
		BootPackage_binaries_Results_B res;
		struct capnp_blist l;
		uint32_t n = 0;
		for (uint32_t i = 0; i < boot_info.module_count; i++)
			n += strcmp(boot_info.modules[i].name, "kernel.sym") != 0;
		BootPackage_binaries_Results_init_root(builder(), &res);
		BootPackage_binaries_Results_init_names(res, n, &l);
		n = 0;
		for (uint32_t i = 0; i < boot_info.module_count; i++) {
			const char *nm = boot_info.modules[i].name;
			if (strcmp(nm, "kernel.sym") != 0)
				capnp_bptr_set_text(capnp_blist_ptr(&l, n++), nm, strlen(nm));
		}
		return reply(c, NULL, 0);
	}
	}
	unimplemented(c);
}

/* ---- EndpointFactory ---- */

static void
epfactory_call(struct call *c)
{
	struct capnp_struct root;
	EndpointFactory_create_Results_B res;

	if (c->method != EndpointFactory_create_ORDINAL)
		return unimplemented(c);
	if (params_root(c, &root) < 0)
		return bad_params(c);
	struct kobj *o = endpoint_create(capnp_get_u64(&root, 0));
	if (!o)
		return call_complete_exception(c, ExceptionType_overloaded, "out of memory");
	o->refs = 2;
	extern void endpoint_facet_get(struct kobj *o, uint8_t facet);
	endpoint_facet_get(o, FACET_SERVER);
	struct xfer x[2] = {
		{ .obj = o, .mode = RING_XFER_COPY, .facet = FACET_SERVER },
		{ .obj = o, .mode = RING_XFER_COPY, .facet = FACET_CALL },
	};
	EndpointFactory_create_Results_init_root(builder(), &res);
	capnp_bptr_set_cap(EndpointFactory_create_Results_ptr_server(res), 0);
	capnp_bptr_set_cap(EndpointFactory_create_Results_ptr_client(res), 1);
	reply(c, x, 2);
}

/* ---- ProcessSpawner and ProcessBuilder ----
 *
 * One message carries at most RING_MAX_XFER caps, so a service with more
 * grants is built in steps (docs/processes.md, "Spawning"): create loads
 * the process without starting it and returns a ProcessBuilder, grant adds
 * up to RING_MAX_XFER caps per call, start claims the device grants and
 * runs it. spawn is the same three steps in one call. Until start the
 * builder holds the only reference to the process (it is P_BLOCKED, in no
 * run queue, and its ProcessHandle is not handed out), so nothing else can
 * reach it. The builder is a KO_PROCHANDLE object (the type cap.c
 * dispatches destruction on) told apart by its interface id.
 */

struct procbuilder {
	struct kobj k;
	struct proc *p;		/* NULL once started */
	char binary[64];
};

/* The grants of one call, decoded and checked before anything is installed. */
struct grant_set {
	uint32_t n;
	uint32_t idx[RING_MAX_XFER];	/* sideband index of each grant's cap */
	char name[RING_MAX_XFER][BOOTSTRAP_NAME];
};

/* A name for a C string: non-empty, shorter than max, no NUL inside. */
static bool
name_ok(const char *s, uint32_t len, uint32_t max)
{
	if (len == 0 || len >= max)
		return false;
	for (uint32_t i = 0; i < len; i++)
		if (s[i] == 0)
			return false;
	return true;
}

static uint16_t
spawn_error(int err)
{
	switch (err) {
	case E_NOENT: return SpawnError_unknownBinary;
	case E_NAME: return SpawnError_badName;
	case E_NOMEM: return SpawnError_outOfMemory;
	case E_LIMIT: return SpawnError_tooManyGrants;
	case E_EXIST: return SpawnError_duplicateName;
	case E_BUSY: return SpawnError_alreadyStarted;
	default: return SpawnError_malformedBinary;
	}
}

/* Names and sideband indexes of the call's grants: E_CORRUPT for params
 * that do not decode or reuse a cap, E_LIMIT for more grants than caps. */
static int
grants_decode(struct call *c, struct capnp_list *l, struct grant_set *gs)
{
	uint32_t used = 0;

	if (l->count > c->nxfer)
		return E_LIMIT;
	for (uint32_t i = 0; i < l->count; i++) {
		SpawnGrant_R gr;
		struct capnp_text gn;
		if (SpawnGrant_list_get(l, i, &gr) < 0 || SpawnGrant_get_name(gr, &gn) < 0 ||
		    capnp_ptr_cap(SpawnGrant_get_cap(gr), &gs->idx[i]) < 0 || gs->idx[i] >= c->nxfer ||
		    (used & (1u << gs->idx[i])) || !name_ok(gn.str, gn.len, BOOTSTRAP_NAME))
			return E_CORRUPT;
		used |= 1u << gs->idx[i];
		memcpy(gs->name[i], gn.str, gn.len);
		gs->name[i][gn.len] = 0;
	}
	gs->n = l->count;
	return 0;
}

/* Room on p's bootstrap page and no name twice: E_LIMIT, E_EXIST or 0. */
static int
grants_check(struct proc *p, const struct grant_set *gs)
{
	const struct bootstrap_page *b = proc_bootstrap(p);

	if (b->ncaps > BOOTSTRAP_MAX_CAPS || gs->n > BOOTSTRAP_MAX_CAPS - b->ncaps)
		return E_LIMIT;
	for (uint32_t i = 0; i < gs->n; i++) {
		for (uint32_t j = 0; j < i; j++)
			if (strcmp(gs->name[i], gs->name[j]) == 0)
				return E_EXIST;
		for (uint32_t k = 0; k < b->ncaps; k++)
			if (strcmp(gs->name[i], b->caps[k].name) == 0)
				return E_EXIST;
	}
	return 0;
}

/* Check, then move the call's caps into p's table and bootstrap page. */
static int
grants_install(struct proc *p, struct call *c, const struct grant_set *gs)
{
	struct xfer g[RING_MAX_XFER];
	capid_t ids[RING_MAX_XFER];
	int r = grants_check(p, gs);

	if (r < 0)
		return r;
	for (uint32_t i = 0; i < gs->n; i++)
		g[i] = c->x[gs->idx[i]];
	/* Before start every cap has a bootstrap entry, and CAP_SLOTS exceeds
	 * BOOTSTRAP_MAX_CAPS: there is room; a refusal is still honoured. */
	if (xfer_commit(p, g, gs->n, RING_MAX_XFER, ids, NULL) < 0)
		return E_LIMIT;
	for (uint32_t i = 0; i < gs->n; i++) {
		c->x[gs->idx[i]].obj = NULL;	/* consumed */
		proc_bootstrap_add(p, gs->name[i], p->caps.slot[CAPID_SLOT(ids[i])].obj->iid, ids[i]);
	}
	return 0;
}

/* Load binary as a process called name, not started: NULL with *err set. */
static struct proc *
spawn_load(struct capnp_text name, struct capnp_text binary, char bin[64], int *err)
{
	char nm[PROC_NAME];
	const void *elf;
	uint64_t len;
	const char *why = "";

	if (!name_ok(name.str, name.len, sizeof nm) || !name_ok(binary.str, binary.len, 64)) {
		*err = E_NAME;
		return NULL;
	}
	memcpy(nm, name.str, name.len);
	nm[name.len] = 0;
	memcpy(bin, binary.str, binary.len);
	bin[binary.len] = 0;
	if (proc_find_module(bin, &elf, &len) < 0) {
		kprintf("capos: spawn-reject name=%s binary=%s reason=\"unknown binary\"\n", nm, bin);
		*err = E_NOENT;
		return NULL;
	}
	struct proc *p = proc_create(nm, elf, len, err, &why);
	if (!p) {
		kprintf("capos: spawn-reject name=%s binary=%s reason=\"%s\"\n", nm, bin, why);
		if (*err != E_NOMEM)
			*err = E_CORRUPT;
	}
	return p;
}

/* The manifest's device grants, then run. */
static void
spawn_start(struct proc *p, const char *bin)
{
	extern void kddf_spawn_grants(struct proc *p);
	uint32_t n = proc_bootstrap(p)->ncaps;

	kddf_spawn_grants(p);	/* the manifest's device grants: claims made by kernel/ddf */
	kprintf("capos: spawn pid=%u name=%s binary=%s grants=%u\n", p->pid, p->name, bin, n);
	sched_add(p);
}

/* A SpawnResult: p's ProcessHandle, or the error err stands for. */
static void
spawn_reply(struct call *c, int err, struct proc *p)
{
	ProcessSpawner_spawn_Results_B res;	/* spawn and start results: one layout */
	SpawnResult_B r;

	ProcessSpawner_spawn_Results_init_root(builder(), &res);
	ProcessSpawner_spawn_Results_init_result(res, &r);
	if (p) {
		kobj_ref(p->handle);
		struct xfer x = { .obj = p->handle, .mode = RING_XFER_COPY, .facet = FACET_CALL };
		SpawnResult_set_handle(r, 0);
		return reply(c, &x, 1);
	}
	SpawnResult_set_error(r, spawn_error(err));
	reply(c, NULL, 0);
}

static void
spawn_call(struct call *c, ProcessSpawner_spawn_Params_R prm)
{
	struct capnp_text name, binary;
	struct capnp_list grants;
	struct grant_set gs;
	char bin[64];
	int err;

	if (ProcessSpawner_spawn_Params_get_name(prm, &name) < 0 ||
	    ProcessSpawner_spawn_Params_get_binary(prm, &binary) < 0 ||
	    ProcessSpawner_spawn_Params_get_grants(prm, &grants) < 0)
		return bad_params(c);
	if ((err = grants_decode(c, &grants, &gs)) == E_CORRUPT)
		return bad_params(c);
	if (err < 0)
		return spawn_reply(c, err, NULL);
	struct proc *p = spawn_load(name, binary, bin, &err);
	if (!p)
		return spawn_reply(c, err, NULL);
	if ((err = grants_install(p, c, &gs)) < 0) {
		proc_kill(p);	/* never ran: its caps and memory go */
		return spawn_reply(c, err, NULL);
	}
	spawn_start(p, bin);
	spawn_reply(c, 0, p);
}

static void
create_call(struct call *c, ProcessSpawner_create_Params_R prm)
{
	ProcessSpawner_create_Results_B res;
	CreateResult_B r;
	struct capnp_text name, binary;
	int err = E_NOMEM;

	if (ProcessSpawner_create_Params_get_name(prm, &name) < 0 ||
	    ProcessSpawner_create_Params_get_binary(prm, &binary) < 0)
		return bad_params(c);
	struct procbuilder *b = kmalloc(sizeof *b);
	struct proc *p = b ? spawn_load(name, binary, b->binary, &err) : NULL;
	ProcessSpawner_create_Results_init_root(builder(), &res);
	ProcessSpawner_create_Results_init_result(res, &r);
	if (!p) {
		kfree(b);
		CreateResult_set_error(r, spawn_error(err));
		return reply(c, NULL, 0);
	}
	b->k = (struct kobj){ ProcessBuilder_TYPE_ID, 1, 1, KO_PROCHANDLE, false };
	b->p = p;
	kprintf("capos: spawn-create pid=%u name=%s binary=%s ms=%lu\n", p->pid, p->name, b->binary,
		(unsigned long)(sched_ticks * NS_PER_TICK / 1000000));
	/* the builder's one reference travels in the result; a failed reply drops it,
	 * and with it the process (builder_destroy) */
	struct xfer x = { .obj = &b->k, .mode = RING_XFER_COPY, .facet = FACET_CALL };
	CreateResult_set_builder(r, 0);
	reply(c, &x, 1);
}

static void
spawner_call(struct call *c)
{
	struct capnp_struct root;

	if (c->method > ProcessSpawner_create_ORDINAL)
		return unimplemented(c);
	if (params_root(c, &root) < 0)
		return bad_params(c);
	if (c->method == ProcessSpawner_spawn_ORDINAL)
		return spawn_call(c, (ProcessSpawner_spawn_Params_R){ root });
	create_call(c, (ProcessSpawner_create_Params_R){ root });
}

static void
build_reply(struct call *c, int err)
{
	ProcessBuilder_grant_Results_B res;
	BuildResult_B r;

	ProcessBuilder_grant_Results_init_root(builder(), &res);
	ProcessBuilder_grant_Results_init_result(res, &r);
	if (err < 0)
		BuildResult_set_error(r, spawn_error(err));
	else
		BuildResult_set_ok(r);
	reply(c, NULL, 0);
}

static void
builder_call(struct procbuilder *b, struct call *c)
{
	struct capnp_struct root;
	struct capnp_list grants;
	struct grant_set gs;
	int err;

	switch (c->method) {
	case ProcessBuilder_grant_ORDINAL:
		if (params_root(c, &root) < 0 ||
		    ProcessBuilder_grant_Params_get_grants((ProcessBuilder_grant_Params_R){ root }, &grants) < 0 ||
		    (err = grants_decode(c, &grants, &gs)) == E_CORRUPT)
			return bad_params(c);
		if (err == 0)
			err = b->p ? grants_install(b->p, c, &gs) : E_BUSY;
		return build_reply(c, err);
	case ProcessBuilder_start_ORDINAL: {
		struct proc *p = b->p;
		if (!p)
			return spawn_reply(c, E_BUSY, NULL);
		b->p = NULL;	/* spent: the process is on its own now */
		spawn_start(p, b->binary);
		return spawn_reply(c, 0, p);
	}
	}
	unimplemented(c);
}

/* The last reference to a builder went: a process never started goes with it. */
static void
builder_destroy(struct procbuilder *b)
{
	struct proc *p = b->p;

	kfree(b);
	if (p) {
		kprintf("capos: spawn-abandoned pid=%u name=%s\n", p->pid, p->name);
		proc_kill(p);	/* not running: ends at once, its caps released */
	}
}

/* ---- ProcessHandle ---- */

struct kobj *
prochandle_create(struct proc *p)
{
	struct prochandle *h = kmalloc(sizeof *h);
	if (!h)
		return NULL;
	h->k = (struct kobj){ ProcessHandle_TYPE_ID, 1, 1, KO_PROCHANDLE, false };
	h->p = p;
	return &h->k;
}

static void
wait_reply(struct call *c, struct proc *p)
{
	ProcessHandle_wait_Results_B res;
	WaitResult_B w;
	ExitStatus_B e;
	ProcessFault_B f;

	ProcessHandle_wait_Results_init_root(builder(), &res);
	ProcessHandle_wait_Results_init_result(res, &w);
	if (!p || p->state != P_ZOMBIE) {
		WaitResult_set_timedOut(w);
		return reply(c, NULL, 0);
	}
	WaitResult_init_exited(w, &e);
	if (p->exit_kind == EXIT_CODE) {
		ExitStatus_set_code(e, p->exit_code);
	} else if (p->exit_kind == EXIT_KILLED) {
		ExitStatus_set_killed(e);
	} else {
		ExitStatus_init_fault(e, &f);
		ProcessFault_set_address(f, p->fault_addr);
		ProcessFault_set_reason(f, p->fault_reason, strlen(p->fault_reason));
	}
	reply(c, NULL, 0);
}

static void
prochandle_call(struct prochandle *h, struct call *c)
{
	struct capnp_struct root;
	struct proc *p = h->p;

	switch (c->method) {
	case ProcessHandle_wait_ORDINAL: {
		if (params_root(c, &root) < 0)
			return bad_params(c);
		uint64_t t = capnp_get_u64(&root, 0);
		if (p->state == P_ZOMBIE)
			return wait_reply(c, p);
		c->state = CALL_PARKED;
		c->deadline = t ? sched_ticks + t / NS_PER_TICK + 1 : 0;
		c->next = h->waiters;
		h->waiters = c;
		return;
	}
	case ProcessHandle_kill_ORDINAL: {
		ProcessHandle_kill_Results_B res;
		KillResult_B r;
		if (p == this_cpu()->cur)
			return call_complete_exception(c, ExceptionType_failed, "use exit to end yourself");
		bool alive = p->state != P_ZOMBIE;
		/* Kill first: the exit answers waiters with the same result builder. */
		if (alive && proc_kill(p) < 0)
			return call_complete_exception(c, ExceptionType_failed, "target CPU unknown");
		ProcessHandle_kill_Results_init_root(builder(), &res);
		ProcessHandle_kill_Results_init_result(res, &r);
		if (alive)
			KillResult_set_ok(r);	/* ended, or ends at its CPU's next kernel entry */
		else
			KillResult_set_alreadyExited(r);
		return reply(c, NULL, 0);
	}
	case ProcessHandle_info_ORDINAL: {
		ProcessHandle_info_Results_B res;
		ProcessInfo_B i;
		ProcessHandle_info_Results_init_root(builder(), &res);
		ProcessHandle_info_Results_init_info(res, &i);
		ProcessInfo_set_pid(i, p->pid);
		ProcessInfo_set_name(i, p->name, strlen(p->name));
		ProcessInfo_set_state(i, p->state == P_ZOMBIE ? ProcessState_exited : ProcessState_running);
		return reply(c, NULL, 0);
	}
	}
	unimplemented(c);
}

void
prochandle_exited(struct proc *p)
{
	struct prochandle *h = (struct prochandle *)p->handle;
	struct call *c;

	if (!h)
		return;
	while ((c = h->waiters)) {
		h->waiters = c->next;
		wait_reply(c, p);
	}
	p->handle = NULL;
	kobj_unref(&h->k);	/* the process's own reference */
}

void
prochandle_destroy(struct kobj *o)
{
	if (o->iid == ProcessBuilder_TYPE_ID)
		return builder_destroy((struct procbuilder *)o);
	struct prochandle *h = (struct prochandle *)o;
	if (h->p && h->p->handle == o)
		h->p->handle = NULL;
	if (h->p)
		proc_handle_gone(h->p);	/* the record may go now (proc.c) */
	kfree(h);
}

void prochandle_tick(uint64_t now);

void
prochandle_tick(uint64_t now)
{
	for (struct proc *p = proc_list; p; p = p->all_next) {
		struct prochandle *h = (struct prochandle *)p->handle;
		if (!h)
			continue;
		struct call **pp = &h->waiters;
		while (*pp) {
			struct call *c = *pp;
			if (c->deadline && now >= c->deadline) {
				*pp = c->next;
				wait_reply(c, NULL);
			} else {
				pp = &c->next;
			}
		}
	}
}

void
kobj_call(struct kobj *o, struct call *c)
{
	switch (o->type) {
	case KO_CONSOLE: return console_call(c);
	case KO_CLOCK: return clock_call(c);
	case KO_ENTROPY: return entropy_call(c);
	case KO_BOOTPKG: return bootpkg_call(c);
	case KO_EPFACTORY: return epfactory_call(c);
	case KO_SPAWNER: return spawner_call(c);
	case KO_PROCHANDLE:
		if (o->iid == ProcessBuilder_TYPE_ID)
			return builder_call((struct procbuilder *)o, c);
		return prochandle_call((struct prochandle *)o, c);
	case KO_DDF: {
		extern void kddf_kobj_call(struct kobj *o, struct call *c);
		return kddf_kobj_call(o, c);
	}
	default: return unimplemented(c);
	}
}
