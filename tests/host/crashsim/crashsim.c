/*
 * Crash simulator for CAPOSST1 + CAPOSWF1 on one CAPOSVOL image.
 *
 * 1. Record: format a RAM image, then run a seeded random workload (Store
 *    puts/deletes; WF mkdir/create/write/append/truncate/sync/close/rename/
 *    remove) while a logger keeps every block write and flush. After each
 *    operation it notes the log position and a hash of the state that is
 *    durable by then: the Store's state (every Store op commits) and the WF
 *    state as of its last commit (taken when the live WF has nothing
 *    pending, where live == committed).
 * 2. Cut: for every block write k, rebuild the image as a disk would hold
 *    it after power loss at k, remount (volume header, Store, WF), run
 *    st_check and wf_check, hash the mounted state and require it to equal
 *    the state after some operation j with lo <= j <= hi, where lo is the
 *    last operation whose final flush precedes the cut (everything synced
 *    must be there) and hi the operation in flight (it may be wholly there
 *    or wholly absent, never half).
 *    - in-order cut: writes 1..k applied (r=0);
 *    - write-back cut: writes up to the last flush before k applied, then a
 *      seeded random subset of the unflushed writes up to k, in a seeded
 *      random order (r>0; the cache may drop or reorder anything unflushed).
 * A failing point prints an id; `crashsim --id bs=512,w=3,n=60,cut=120,r=77`
 * (or CRASHSIM_ID=...) replays exactly that point verbosely.
 * Model: block writes are atomic (no torn blocks); flush is a barrier.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "ramdev.h"
#include "store/store.h"
#include "wfs/vol.h"
#include "wfs/wfs.h"

#define ARENA (2u << 20)
#define MAX_OPEN_PATH 32

struct event {
	uint8_t flush;
	uint64_t lba;
	size_t data;     /* offset into log.data */
};

struct oprec {
	size_t end;      /* events so far when the op returned */
	uint64_t hs, hw; /* durable state after the op */
	char what[128];
};

struct sim {
	uint32_t bs;
	uint64_t blocks;
	uint64_t wseed;
	int nops_run;
	uint64_t ok_ops;
	uint8_t *base;            /* image after format */
	struct event *ev;
	size_t nev, cap_ev;
	uint8_t *data;
	size_t ndata, cap_data;
	struct oprec *ops;
	size_t nops, cap_ops;
	size_t *write_ev;         /* event index of each write */
	size_t nwrites;
	void *arena_st, *arena_wf;
	int verbose;
	uint64_t points, failures;
};

/* ---- hashing and PRNG ------------------------------------------------- */

static uint64_t
h64(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static uint64_t
rnd(uint64_t *s)
{
	*s += 0x9e3779b97f4a7c15ull;
	return mix(*s);
}

/* ---- state hashes ----------------------------------------------------- */

static uint64_t
hash_store(struct st *st)
{
	struct st_ns ns;
	char key[ST_KEY_MAX + 1];
	static uint8_t val[4096];
	uint64_t cur = 0, sum = 0;
	int n;

	st_ns_root(st, &ns);
	while ((n = st_list(&ns, &cur, key, sizeof(key))) > 0) {
		int v = st_get(&ns, key, val, sizeof(val));
		uint64_t h = h64(0xcbf29ce484222325ull, key, (size_t)n);

		if (v < 0)
			return (uint64_t)v;
		h = h64(h, val, (size_t)v);
		sum += mix(h);
	}
	return n < 0 ? (uint64_t)n : sum;
}

static uint64_t
hash_dir(struct wf_fs *fs, const char *dir, int *err)
{
	struct wf_dirent de;
	uint32_t cur = 0;
	uint64_t sum = 0;
	static uint8_t buf[8192];
	int r;

	while ((r = wf_list(fs, dir, &cur, &de)) == 1) {
		char path[512];
		struct wf_stat st;
		uint64_t h;

		snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "", de.name);
		if (wf_stat(fs, path, &st) < 0) {
			*err = 1;
			return 0;
		}
		h = h64(0xcbf29ce484222325ull, path, strlen(path));
		h = h64(h, &st.type, 1);
		h = h64(h, &st.size, 8);
		h = h64(h, &st.mtime, 8);
		if (de.type == WF_T_DIR) {
			sum += hash_dir(fs, path, err);
		} else {
			int fh = wf_open(fs, path, WF_O_READ);
			uint64_t off = 0;

			if (fh < 0) {
				*err = 1;
				return 0;
			}
			while ((r = wf_read(fs, fh, off, buf, sizeof(buf))) > 0) {
				h = h64(h, buf, (size_t)r);
				off += (uint64_t)r;
			}
			if (r < 0 || off != st.size)
				*err = 1;
			wf_close(fs, fh);
		}
		sum += mix(h);
	}
	if (r < 0)
		*err = 1;
	return sum;
}

static uint64_t
hash_wf(struct wf_fs *fs)
{
	int err = 0;
	uint64_t h = hash_dir(fs, "/", &err);

	return err ? 1 : h;
}

/* ---- recording -------------------------------------------------------- */

static void
log_write(void *ctx, uint64_t lba, const void *block)
{
	struct sim *s = ctx;

	if (s->nev == s->cap_ev) {
		s->cap_ev = s->cap_ev ? 2 * s->cap_ev : 1024;
		s->ev = realloc(s->ev, s->cap_ev * sizeof(*s->ev));
	}
	if (s->ndata + s->bs > s->cap_data) {
		s->cap_data = s->cap_data ? 2 * s->cap_data : (1u << 20);
		s->data = realloc(s->data, s->cap_data);
	}
	memcpy(s->data + s->ndata, block, s->bs);
	s->ev[s->nev].flush = 0;
	s->ev[s->nev].lba = lba;
	s->ev[s->nev].data = s->ndata;
	s->ndata += s->bs;
	s->nev++;
}

static void
log_flush(void *ctx)
{
	struct sim *s = ctx;

	if (s->nev == s->cap_ev) {
		s->cap_ev = s->cap_ev ? 2 * s->cap_ev : 1024;
		s->ev = realloc(s->ev, s->cap_ev * sizeof(*s->ev));
	}
	s->ev[s->nev].flush = 1;
	s->ev[s->nev].lba = 0;
	s->ev[s->nev].data = 0;
	s->nev++;
}

static void
note_op(struct sim *s, uint64_t hs, uint64_t hw, const char *what)
{
	if (s->nops == s->cap_ops) {
		s->cap_ops = s->cap_ops ? 2 * s->cap_ops : 256;
		s->ops = realloc(s->ops, s->cap_ops * sizeof(*s->ops));
	}
	s->ops[s->nops].end = s->nev;
	s->ops[s->nops].hs = hs;
	s->ops[s->nops].hw = hw;
	snprintf(s->ops[s->nops].what, sizeof(s->ops[s->nops].what), "%s", what);
	s->nops++;
}

static uint64_t op_clock;

static uint64_t
clk(void *ctx)
{
	(void)ctx;
	return op_clock;
}

static const char *const dirs[] = { "", "", "/d0", "/d1", "/d0/d2" };

static void
rand_path(uint64_t *rs, char *out, size_t cap)
{
	const char *d = dirs[rnd(rs) % 5];

	snprintf(out, cap, "%s/f%u", d, (unsigned)(rnd(rs) % 4));
}

static void
rand_dir(uint64_t *rs, char *out, size_t cap)
{
	snprintf(out, cap, "%s", dirs[2 + rnd(rs) % 3]);
}

static void
record(struct sim *s, int nops)
{
	struct ramdev rd;
	struct wf_vol v;
	struct st st;
	struct wf_fs fs;
	struct st_ns ns;
	struct st_geom sg = { 24, 6000 };
	struct wf_geom wg = { 24, 96 };
	uint64_t rs = s->wseed * 0x5851f42d4c957f2dull + s->bs, hs, hw;
	static uint8_t buf[3 * 4096];
	char what[100], path[MAX_OPEN_PATH], path2[MAX_OPEN_PATH];
	int wh = -1, i;

	ramdev_init(&rd, s->bs, s->blocks);
	if (wf_vol_format(&rd.dev, s->bs == 512 ? 160 : 24) < 0 || wf_vol_open(&v, &rd.dev) < 0 ||
	    st_format(&v.st.dev, &sg) < 0 || wf_format(&v.wf.dev, &wg, 0) < 0) {
		fprintf(stderr, "crashsim: format failed\n");
		exit(2);
	}
	s->base = malloc(s->blocks * s->bs);
	memcpy(s->base, rd.mem, s->blocks * s->bs);
	if (st_mount(&st, &v.st.dev, s->arena_st, ARENA) < 0 ||
	    wf_mount(&fs, &v.wf.dev, s->arena_wf, ARENA, clk, NULL) < 0) {
		fprintf(stderr, "crashsim: mount failed\n");
		exit(2);
	}
	st_ns_root(&st, &ns);
	hs = hash_store(&st);
	hw = hash_wf(&fs);
	note_op(s, hs, hw, "format");
	rd.on_write = log_write;
	rd.on_flush = log_flush;
	rd.log_ctx = s;
	for (i = 0; i < nops; i++) {
		uint64_t k = rnd(&rs) % 16;
		int r = 0;

		op_clock = 1000 + (uint64_t)i;
		for (size_t j = 0; j < sizeof(buf); j++)
			buf[j] = (uint8_t)(i * 31 + j);
		if (k < 5) {
			char key[16];
			uint32_t len = (uint32_t)(rnd(&rs) % 700);

			snprintf(key, sizeof(key), "k%u", (unsigned)(rnd(&rs) % 10));
			if (k < 4) {
				r = st_put(&ns, key, buf, len);
				snprintf(what, sizeof(what), "st_put %s %u", key, len);
			} else {
				r = st_delete(&ns, key);
				snprintf(what, sizeof(what), "st_delete %s", key);
			}
			hs = hash_store(&st);
		} else {
			switch (k) {
			case 5:
				rand_dir(&rs, path, sizeof(path));
				r = wf_mkdir(&fs, path);
				snprintf(what, sizeof(what), "mkdir %s", path);
				break;
			case 6:
				rand_path(&rs, path, sizeof(path));
				r = wf_create(&fs, path);
				snprintf(what, sizeof(what), "create %s", path);
				break;
			case 7:
			case 8:
				if (wh < 0) {
					rand_path(&rs, path, sizeof(path));
					r = wh = wf_open(&fs, path, WF_O_READ | WF_O_WRITE |
					    (rnd(&rs) % 2 ? WF_O_CREATE : 0));
					if (wh < 0)
						wh = -1;
					snprintf(what, sizeof(what), "open %s", path);
				} else {
					struct wf_stat sb;
					uint64_t off;
					size_t len = 1 + rnd(&rs) % (2 * s->bs + 100);

					wf_fstat(&fs, wh, &sb);
					off = sb.size ? rnd(&rs) % (sb.size + 1) : 0;
					r = wf_write(&fs, wh, off, buf, len);
					snprintf(what, sizeof(what), "write off=%llu len=%zu",
					    (unsigned long long)off, len);
				}
				break;
			case 9:
				if (wh >= 0) {
					size_t len = 1 + rnd(&rs) % (3 * s->bs);

					r = wf_append(&fs, wh, buf, len);
					snprintf(what, sizeof(what), "append %zu", len);
				} else {
					snprintf(what, sizeof(what), "nop");
				}
				break;
			case 10:
				if (wh >= 0) {
					struct wf_stat sb;
					uint64_t len;

					wf_fstat(&fs, wh, &sb);
					len = sb.size ? rnd(&rs) % (sb.size + 1) : 0;
					r = wf_truncate(&fs, wh, len);
					snprintf(what, sizeof(what), "truncate %llu", (unsigned long long)len);
				} else {
					snprintf(what, sizeof(what), "nop");
				}
				break;
			case 11:
				if (wh >= 0)
					r = wf_sync(&fs, wh);
				snprintf(what, sizeof(what), "sync");
				break;
			case 12:
				if (wh >= 0)
					r = wf_close(&fs, wh);
				wh = -1;
				snprintf(what, sizeof(what), "close");
				break;
			case 13:
				if (rnd(&rs) % 3 == 0) {
					rand_dir(&rs, path, sizeof(path));
					rand_dir(&rs, path2, sizeof(path2));
					strcat(path2, "x");
				} else {
					rand_path(&rs, path, sizeof(path));
					rand_path(&rs, path2, sizeof(path2));
				}
				r = wf_rename(&fs, path, path2);
				snprintf(what, sizeof(what), "rename %s %s", path, path2);
				break;
			default:
				if (rnd(&rs) % 4 == 0)
					rand_dir(&rs, path, sizeof(path));
				else
					rand_path(&rs, path, sizeof(path));
				r = wf_remove(&fs, path);
				snprintf(what, sizeof(what), "remove %s", path);
				break;
			}
			if (!fs.dirty)
				hw = hash_wf(&fs);
		}
		if (r == E_IO || fs.broken || st.broken) {
			fprintf(stderr, "crashsim: I/O error during recording (%s)\n", what);
			exit(2);
		}
		if (r >= 0)
			s->ok_ops++;
		{
			char w2[128];

			snprintf(w2, sizeof(w2), "%s -> %d", what, r);
			note_op(s, hs, hw, w2);
		}
	}
	if (wh >= 0) {
		wf_close(&fs, wh);
		if (!fs.dirty)
			hw = hash_wf(&fs);
		note_op(s, hs, hw, "final close");
	}
	s->write_ev = malloc((s->nev + 1) * sizeof(size_t));
	s->nwrites = 0;
	for (size_t e = 0; e < s->nev; e++)
		if (!s->ev[e].flush)
			s->write_ev[s->nwrites++] = e;
	ramdev_free(&rd);
}

/* ---- crash view device ------------------------------------------------ */

struct view {
	struct blk_dev dev;
	const uint8_t *img;
	const struct sim *s;
	const size_t *over;     /* event indexes applied over img, in order */
	size_t nover;
};

static int
view_read(struct blk_dev *d, uint64_t lba, uint32_t count, void *buf)
{
	struct view *v = d->ctx;

	if (lba > d->block_count || count > d->block_count - lba)
		return E_RANGE;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *src = v->img + (lba + i) * d->block_size;

		for (size_t k = 0; k < v->nover; k++)
			if (v->s->ev[v->over[k]].lba == lba + i)
				src = v->s->data + v->s->ev[v->over[k]].data;
		memcpy((uint8_t *)buf + (size_t)i * d->block_size, src, d->block_size);
	}
	return 0;
}

static int
view_write(struct blk_dev *d, uint64_t lba, uint32_t count, const void *buf)
{
	(void)d; (void)lba; (void)count; (void)buf;
	return E_IO; /* mount and check must not write */
}

static int
view_flush(struct blk_dev *d)
{
	(void)d;
	return 0;
}

static void
report_st(void *ctx, const struct st_problem *p)
{
	(void)ctx;
	fprintf(stderr, "    st_check: %s (%llu, %llu)\n", p->what, (unsigned long long)p->a,
	    (unsigned long long)p->b);
}

static void
report_wf(void *ctx, const struct wf_problem *p)
{
	(void)ctx;
	fprintf(stderr, "    wf_check: %s (%llu, %llu)\n", p->what, (unsigned long long)p->a,
	    (unsigned long long)p->b);
}

/*
 * Mount the view and compare with the allowed states. cut is the number of
 * writes issued before power loss; stable = events known flushed.
 */
static int
check_point(struct sim *s, struct view *v, size_t cut, uint64_t rseed, size_t stable_ev,
    size_t cut_ev)
{
	struct wf_vol vol;
	struct st st;
	struct wf_fs fs;
	size_t lo = 0, hi = s->nops - 1, j;
	uint64_t hs = 0, hw = 0;
	const char *fail = NULL;
	int r;

	memset(&st, 0, sizeof(st));
	memset(&fs, 0, sizeof(fs));
	memset(&vol, 0, sizeof(vol));
	s->points++;
	for (j = 0; j < s->nops; j++)
		if (s->ops[j].end <= stable_ev)
			lo = j;
	for (j = s->nops; j-- > 0;)
		if (s->ops[j].end >= cut_ev)
			hi = j;
	if (hi < lo)
		hi = lo;
	r = wf_vol_open(&vol, &v->dev);
	if (r < 0) {
		fail = "volume header does not open";
		goto out;
	}
	r = st_mount(&st, &vol.st.dev, s->arena_st, ARENA);
	if (r < 0) {
		fail = "store does not mount";
		goto out;
	}
	r = wf_mount(&fs, &vol.wf.dev, s->arena_wf, ARENA, clk, NULL);
	if (r < 0) {
		fail = "wf does not mount";
		goto out;
	}
	hs = hash_store(&st);
	hw = hash_wf(&fs);
	for (j = lo; j <= hi; j++)
		if (s->ops[j].hs == hs && s->ops[j].hw == hw)
			break;
	if (j > hi)
		fail = "state is not the state after any operation in [lo, hi]";
	else if (st_check(&vol.st.dev, s->arena_st, ARENA, NULL, NULL) != 0)
		fail = "st_check not clean";
	else if (wf_check(&vol.wf.dev, s->arena_wf, ARENA, NULL, NULL) != 0)
		fail = "wf_check not clean";
out:
	if (fail || s->verbose) {
		printf("%s crashsim id bs=%u,w=%llu,n=%d,cut=%zu,r=%llu: %s (err %s; vol: %s; st: %s; wf: %s)\n",
		    fail ? "FAIL" : "ok", s->bs, (unsigned long long)s->wseed, s->nops_run, cut,
		    (unsigned long long)rseed, fail ? fail : "consistent", err_name(r),
		    vol.why ? vol.why : "ok", st_last_error(&st), wf_last_error(&fs));
		printf("  allowed ops %zu..%zu:", lo, hi);
		for (j = lo; j <= hi; j++)
			printf(" [%zu %s]", j, s->ops[j].what);
		printf("\n  found hs=%016llx hw=%016llx\n", (unsigned long long)hs,
		    (unsigned long long)hw);
		for (j = lo; j <= hi; j++)
			printf("  op %zu hs=%016llx hw=%016llx\n", j, (unsigned long long)s->ops[j].hs,
			    (unsigned long long)s->ops[j].hw);
		if (fail && r >= 0 && s->verbose) {
			st_check(&vol.st.dev, s->arena_st, ARENA, report_st, NULL);
			wf_check(&vol.wf.dev, s->arena_wf, ARENA, report_wf, NULL);
		}
	}
	if (fail)
		s->failures++;
	return fail ? 1 : 0;
}

/*
 * Run all cuts (or one, when only_cut >= 0) for this recorded workload.
 * samples: write-back samples per cut.
 */
static void
run_cuts(struct sim *s, long only_cut, uint64_t only_r, int samples)
{
	uint8_t *img = malloc(s->blocks * s->bs);   /* in-order image */
	uint8_t *fimg = malloc(s->blocks * s->bs);  /* image at the last flush */
	size_t *over = malloc((s->nev + 1) * sizeof(size_t));
	size_t e = 0, fe = 0, last_flush = 0, k;
	struct view v;

	memcpy(img, s->base, s->blocks * s->bs);
	memcpy(fimg, s->base, s->blocks * s->bs);
	memset(&v, 0, sizeof(v));
	v.dev.block_size = s->bs;
	v.dev.block_count = s->blocks;
	v.dev.read = view_read;
	v.dev.write = view_write;
	v.dev.flush = view_flush;
	v.dev.ctx = &v;
	v.s = s;
	for (k = 1; k <= s->nwrites; k++) {
		size_t we = s->write_ev[k - 1];

		/* in-order image: apply events up to and including write k */
		for (; e <= we; e++) {
			if (s->ev[e].flush) {
				last_flush = e + 1;
			} else {
				memcpy(img + s->ev[e].lba * s->bs, s->data + s->ev[e].data, s->bs);
			}
		}
		/* flushed image: apply writes before the last flush */
		for (; fe < last_flush; fe++)
			if (!s->ev[fe].flush)
				memcpy(fimg + s->ev[fe].lba * s->bs, s->data + s->ev[fe].data, s->bs);
		if (only_cut >= 0 && (size_t)only_cut != k)
			continue;
		if (only_cut < 0 || only_r == 0) {
			v.img = img;
			v.nover = 0;
			check_point(s, &v, k, 0, we + 1, we + 1);
		}
		for (int smp = 0; smp < samples || (only_cut >= 0 && smp == 0); smp++) {
			uint64_t rseed = only_cut >= 0 ? only_r : mix(s->wseed * 1000003u + k * 7919u + (uint64_t)smp) | 1;
			uint64_t rs = rseed;
			size_t n = 0, x;

			if (only_cut >= 0 && only_r == 0)
				break;
			for (x = last_flush; x <= we; x++)
				if (!s->ev[x].flush && (rnd(&rs) & 1))
					over[n++] = x;
			for (x = n; x > 1; x--) {
				size_t y = rnd(&rs) % x, t = over[x - 1];

				over[x - 1] = over[y];
				over[y] = t;
			}
			v.img = fimg;
			v.over = over;
			v.nover = n;
			check_point(s, &v, k, rseed, last_flush, we + 1);
		}
	}
	free(img);
	free(fimg);
	free(over);
}

static void
sim_free(struct sim *s)
{
	free(s->base);
	free(s->ev);
	free(s->data);
	free(s->ops);
	free(s->write_ev);
}

int
main(int argc, char **argv)
{
	const char *id = getenv("CRASHSIM_ID");
	int longrun = getenv("CRASHSIM_LONG") != NULL, seeds, samples, nops;
	uint64_t total_points = 0, total_fail = 0, total_writes = 0, total_ok = 0;
	static struct sim s;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--id") == 0 && i + 1 < argc)
			id = argv[++i];
		else if (strcmp(argv[i], "--long") == 0)
			longrun = 1;
	}
	s.arena_st = malloc(ARENA);
	s.arena_wf = malloc(ARENA);
	if (id) {
		unsigned bs;
		unsigned long long w, r;
		long cut;
		int n;

		if (sscanf(id, "bs=%u,w=%llu,n=%d,cut=%ld,r=%llu", &bs, &w, &n, &cut, &r) != 5 ||
		    (bs != 512 && bs != 4096) || n < 1 || cut < 1) {
			fprintf(stderr, "crashsim: id must look like bs=512,w=3,n=60,cut=120,r=77\n");
			return 2;
		}
		s.bs = bs;
		s.blocks = bs == 512 ? 2048 : 512;
		s.wseed = w;
		s.verbose = 1;
		s.nops_run = n;
		record(&s, n);
		run_cuts(&s, cut, r, 0);
		return s.failures ? 1 : 0;
	}
	seeds = longrun ? 40 : 6;
	samples = longrun ? 16 : 4;
	nops = longrun ? 300 : 200;
	for (int b = 0; b < 2; b++) {
		for (int w = 1; w <= seeds; w++) {
			void *a1 = s.arena_st, *a2 = s.arena_wf;

			memset(&s, 0, sizeof(s));
			s.arena_st = a1;
			s.arena_wf = a2;
			s.nops_run = nops;
			s.bs = b == 0 ? 512 : 4096;
			s.blocks = s.bs == 512 ? 2048 : 512;
			s.wseed = (uint64_t)w;
			record(&s, nops);
			run_cuts(&s, -1, 0, samples);
			total_writes += s.nwrites;
			total_ok += s.ok_ops;
			total_points += s.points;
			total_fail += s.failures;
			sim_free(&s);
			if (total_fail > 20)
				break;
		}
	}
	printf("crashsim: %llu crash points over %llu block writes, %llu successful ops (%s), %llu failures\n",
	    (unsigned long long)total_points, (unsigned long long)total_writes,
	    (unsigned long long)total_ok,
	    longrun ? "long" : "short", (unsigned long long)total_fail);
	return total_fail ? 1 : 0;
}
