/*
 * badgetest: endpoint badges (docs/kernel-abi.md, "Badges";
 * tests/system/test_badge.py on user/tests/test-badge.json). Roles by
 * process name:
 *
 *   badge-server  serves `svc` with a raw protocol (below) through
 *                 rt_serve, whose requests carry the receive completion's
 *                 badge. Before serving it checks the mode words the
 *                 kernel refuses (MINT with badge 0, badge bits on a COPY,
 *                 an unknown mode, MINT of a kernel cap) and mints badge 77
 *                 to badge-peer in the params of a CALL
 *   badge-peer    serves `peer`: stores the caps it is sent (P_STORE) and,
 *                 asked (P_ASK), calls badge-server through a stored cap
 *                 and answers with the badge the server saw: a third party
 *                 holding a copied, moved or minted cap
 *   badge-client  calls svc unbadged, asks for two minted caps (badges 5
 *                 and 0x123456, in RETURN results), calls through each,
 *                 three calls at once (two of them queue: the server posts
 *                 one receive at a time), the refused mints (a call cap, a
 *                 badged cap, the console, badge 0; a refused message moves
 *                 nothing), then a COPY and a MOVE of its badged caps to
 *                 badge-peer, and the cap badge-server minted to the peer
 *
 * Every check prints `badgetest: ROLE NAME result=pass|fail ...`; the
 * client ends with `badgetest: badge-client done failures=N`.
 */
#include "capos.h"
#include "schema/base.capnp.h"
#include "schema/ipc.capnp.h"

/* svc methods (raw bytes, not capnp: only the badge matters here) */
#define M_BADGE	0	/* results: uint32 badge the call came in on */
#define M_MINT	1	/* results: no bytes; caps: svc minted with badges 5 and 0x123456 */
#define M_STATS	2	/* results: uint32 calls served (this one included), uint32 caps received */

/* peer methods */
#define P_STORE	0	/* params: none; the one cap sent is kept in the next store slot */
#define P_ASK	1	/* params: uint32 store slot; results: uint32 badge the server saw, or ~0 */

#define BADGE_A		5u
#define BADGE_B		0x123456u
#define BADGE_PEER	77u
#define NO_BADGE	0xFFFFFFFFu

static int failures;

#define CHECK(what, cond, fmt, ...)                                                            \
	do {                                                                                   \
		bool ok_ = (cond);                                                             \
		failures += !ok_;                                                              \
		rt_print("badgetest: %s %s result=%s " fmt, rt_boot->name, what,               \
			 ok_ ? "pass" : "fail", ##__VA_ARGS__);                                \
	} while (0)

static uint32_t
get32(const void *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* ---- badge-server ---- */

static capid_t svc_ep;
static uint32_t served, caps_in;

static int
server_handler(void *ctx, const struct rt_request *rq, void *res, uint32_t *rlen,
	       struct ring_xfer *out, uint32_t *nout)
{
	uint32_t v[2];

	served++;
	caps_in += rq->ncaps;
	for (uint32_t i = 0; i < rq->ncaps; i++)
		rt_release(rq->caps[i]);
	switch (rq->method) {
	case M_BADGE:
		memcpy(res, &rq->badge, 4);
		*rlen = 4;
		return 0;
	case M_MINT:
		out[0] = (struct ring_xfer){ svc_ep, RING_XFER_MINT_BADGE(BADGE_A) };
		out[1] = (struct ring_xfer){ svc_ep, RING_XFER_MINT_BADGE(BADGE_B) };
		*nout = 2;
		*rlen = 0;
		return 0;
	case M_STATS:
		v[0] = served;
		v[1] = caps_in;
		memcpy(res, v, sizeof v);
		*rlen = sizeof v;
		return 0;
	default:
		*rlen = 0;
		return 1 + 3;	/* ExceptionType unimplemented */
	}
}

/* A CALL (method 0, no params) to `to` carrying the one transfer x. */
static int
send_xfer(capid_t to, struct ring_xfer x, struct ring_cqe *c)
{
	return rt_call(to, 0, NULL, 0, NULL, 0, &x, 1, c);
}

static int
serve_badges(void)
{
	capid_t con = rt_cap("console", Console_TYPE_ID), peer = rt_cap("peer", Echo_TYPE_ID);
	struct ring_cqe c;
	int r;

	svc_ep = rt_cap("svc", Echo_TYPE_ID);
	if (!svc_ep || !con || !peer) {
		rt_print("badgetest: badge-server missing caps");
		return 1;
	}
	r = send_xfer(con, (struct ring_xfer){ svc_ep, RING_XFER_MINT }, &c);
	CHECK("mint-badge-zero", r == RING_E_INVALID_REQUEST && c.detail == E_INVAL, "r=%d detail=%d", r,
	      c.detail);
	r = send_xfer(con, (struct ring_xfer){ svc_ep, RING_XFER_COPY | BADGE_A << 8 }, &c);
	CHECK("copy-with-badge-bits", r == RING_E_INVALID_REQUEST && c.detail == E_INVAL,
	      "r=%d detail=%d", r, c.detail);
	r = send_xfer(con, (struct ring_xfer){ svc_ep, RING_XFER_MOVE | BADGE_A << 8 }, &c);
	CHECK("move-with-badge-bits", r == RING_E_INVALID_REQUEST && c.detail == E_INVAL,
	      "r=%d detail=%d", r, c.detail);
	r = send_xfer(con, (struct ring_xfer){ svc_ep, 3u | BADGE_A << 8 }, &c);
	CHECK("unknown-mode", r == RING_E_INVALID_REQUEST && c.detail == E_INVAL, "r=%d detail=%d", r,
	      c.detail);
	r = send_xfer(con, (struct ring_xfer){ con, RING_XFER_MINT_BADGE(9) }, &c);
	CHECK("mint-kernel-cap", r == RING_E_INVALID_REQUEST && c.detail == E_PERM, "r=%d detail=%d", r,
	      c.detail);
	/* a MINT in the params of a CALL: the peer keeps it in store slot 0 */
	r = send_xfer(peer, (struct ring_xfer){ svc_ep, RING_XFER_MINT_BADGE(BADGE_PEER) }, &c);
	CHECK("mint-in-call", r >= 0, "r=%d detail=%d", r, c.detail);
	rt_print("badgetest: badge-server serving failures=%d", failures);
	return rt_serve(svc_ep, RING_MAX_XFER, server_handler, NULL) < 0 ? 2 : 0;
}

/* ---- badge-peer ---- */

#define PEER_STORE 4
static capid_t store[PEER_STORE];
static uint32_t nstore;

static int
peer_handler(void *ctx, const struct rt_request *rq, void *res, uint32_t *rlen,
	     struct ring_xfer *out, uint32_t *nout)
{
	uint32_t badge = NO_BADGE, b, i;
	struct ring_cqe c;

	*rlen = 0;
	if (rq->method == P_STORE) {
		for (i = 0; i < rq->ncaps; i++) {
			if (rq->iids[i] == Echo_TYPE_ID && nstore < PEER_STORE)
				store[nstore++] = rq->caps[i];
			else
				rt_release(rq->caps[i]);
		}
		return 0;
	}
	if (rq->method != P_ASK)
		return 1 + 3;	/* ExceptionType unimplemented */
	if (rq->plen == 4 && (i = get32(rq->params)) < nstore &&
	    rt_call(store[i], M_BADGE, NULL, 0, &b, 4, NULL, 0, &c) == 4)
		badge = b;
	memcpy(res, &badge, 4);
	*rlen = 4;
	return 0;
}

static int
serve_peer(void)
{
	capid_t ep = rt_cap("peer", Echo_TYPE_ID);
	if (!ep) {
		rt_print("badgetest: badge-peer no endpoint");
		return 1;
	}
	return rt_serve(ep, RING_MAX_XFER, peer_handler, NULL) < 0 ? 2 : 0;
}

/* ---- badge-client ---- */

/* M_BADGE through cap: the badge the server saw, or NO_BADGE; *r the completion's result. */
static uint32_t
badge_via(capid_t cap, int *r)
{
	uint32_t b = NO_BADGE;
	*r = rt_call(cap, M_BADGE, NULL, 0, &b, 4, NULL, 0, NULL);
	return *r == 4 ? b : NO_BADGE;
}

/* P_ASK: the badge the server saw when the peer called through its store slot i. */
static uint32_t
peer_ask(capid_t peer, uint32_t i)
{
	uint32_t b = NO_BADGE;
	return rt_call(peer, P_ASK, &i, 4, &b, 4, NULL, 0, NULL) == 4 ? b : NO_BADGE;
}

/* M_STATS: calls served and caps received by the server so far. */
static bool
stats(capid_t svc, uint32_t v[2])
{
	return rt_call(svc, M_STATS, NULL, 0, v, 8, NULL, 0, NULL) == 8;
}

/* Three calls in one cap_enter, each through its cap: the badges the server saw. */
static bool
calls_at_once(const capid_t cap[3], uint32_t got[3])
{
	static uint32_t res[3];
	struct ring_cqe c;
	uint32_t seen = 0;

	for (uint32_t i = 0; i < 3; i++) {
		res[i] = got[i] = NO_BADGE;
		struct ring_sqe s = { .opcode = RING_OP_CALL, .method = M_BADGE, .cap = cap[i],
				      .user_data = 0xBADE0000u + i, .result = (uint64_t)&res[i],
				      .result_len = 4 };
		if (rt_submit(&s) < 0)
			return false;
	}
	sys_cap_enter(3, 0);	/* all three are decoded before the server runs again */
	while (seen != 7 && rt_reap(&c, true)) {
		uint32_t i = (uint32_t)(c.user_data - 0xBADE0000u);
		if (i >= 3)
			return false;	/* nothing else is in flight */
		seen |= 1u << i;
		if (c.result == 4)
			got[i] = res[i];
	}
	return true;
}

static int
client(void)
{
	capid_t svc = rt_cap("svc", Echo_TYPE_ID), peer = rt_cap("peer", Echo_TYPE_ID);
	capid_t con = rt_cap("console", Console_TYPE_ID), a = 0, b = 0;
	struct ring_cqe c;
	uint32_t got, st0[2], st1[2];
	int r;

	if (!svc || !peer || !con) {
		rt_print("badgetest: badge-client missing caps");
		return 1;
	}
	got = badge_via(svc, &r);
	CHECK("unbadged", got == 0, "badge=%#x r=%d", got, r);

	/* two minted caps in the RETURN results */
	r = rt_call(svc, M_MINT, NULL, 0, NULL, 0, NULL, 0, &c);
	if (r >= 0 && c.ncaps == 2) {
		a = rt_adopt(&c, 0, Echo_TYPE_ID);
		b = rt_adopt(&c, 1, Echo_TYPE_ID);
	}
	CHECK("mint-in-return", a && b && a != svc && b != svc && a != b, "r=%d ncaps=%u", r, c.ncaps);
	got = badge_via(a, &r);
	CHECK("badge-a", got == BADGE_A, "badge=%#x r=%d", got, r);
	got = badge_via(b, &r);
	CHECK("badge-b", got == BADGE_B, "badge=%#x r=%d", got, r);
	got = badge_via(svc, &r);
	CHECK("unbadged-after", got == 0, "badge=%#x r=%d", got, r);

	/* queued calls: the server has one receive posted, so two of these wait in
	 * the endpoint's queue and are delivered by its later RECV|REPLYs */
	capid_t three[3] = { a, b, svc };
	uint32_t g3[3];
	bool ok = calls_at_once(three, g3);
	CHECK("queued", ok && g3[0] == BADGE_A && g3[1] == BADGE_B && g3[2] == 0,
	      "badges=%#x,%#x,%#x", g3[0], g3[1], g3[2]);
	three[0] = b, three[1] = svc, three[2] = a;
	ok = calls_at_once(three, g3);
	CHECK("queued-reordered", ok && g3[0] == BADGE_B && g3[1] == 0 && g3[2] == BADGE_A,
	      "badges=%#x,%#x,%#x", g3[0], g3[1], g3[2]);

	/* refused mints: only the server facet mints; nothing moves */
	bool st_ok = stats(svc, st0);
	struct ring_xfer x[2];
	x[0] = (struct ring_xfer){ svc, RING_XFER_MINT_BADGE(9) };
	r = rt_call(svc, M_BADGE, NULL, 0, NULL, 0, x, 1, &c);
	CHECK("mint-call-cap", r == RING_E_INVALID_REQUEST && c.detail == E_PERM, "r=%d detail=%d", r,
	      c.detail);
	x[0] = (struct ring_xfer){ a, RING_XFER_MINT_BADGE(9) };
	r = rt_call(svc, M_BADGE, NULL, 0, NULL, 0, x, 1, &c);
	CHECK("mint-badged-cap", r == RING_E_INVALID_REQUEST && c.detail == E_PERM, "r=%d detail=%d", r,
	      c.detail);
	x[0] = (struct ring_xfer){ con, RING_XFER_MINT_BADGE(9) };
	r = rt_call(svc, M_BADGE, NULL, 0, NULL, 0, x, 1, &c);
	CHECK("mint-console", r == RING_E_INVALID_REQUEST && c.detail == E_PERM, "r=%d detail=%d", r,
	      c.detail);
	x[0] = (struct ring_xfer){ svc, RING_XFER_MINT };
	r = rt_call(svc, M_BADGE, NULL, 0, NULL, 0, x, 1, &c);
	CHECK("mint-badge-zero", r == RING_E_INVALID_REQUEST && c.detail == E_INVAL, "r=%d detail=%d", r,
	      c.detail);
	/* a MOVE first, then a refused MINT: the moved cap stays with the client */
	x[0] = (struct ring_xfer){ b, RING_XFER_MOVE };
	x[1] = (struct ring_xfer){ a, RING_XFER_MINT_BADGE(9) };
	r = rt_call(svc, M_BADGE, NULL, 0, NULL, 0, x, 2, &c);
	CHECK("mint-refused-after-move", r == RING_E_INVALID_REQUEST && c.detail == E_PERM,
	      "r=%d detail=%d", r, c.detail);
	got = badge_via(b, &r);
	CHECK("move-rolled-back", got == BADGE_B, "badge=%#x r=%d", got, r);
	st_ok = st_ok && stats(svc, st1);
	/* between the two stats calls the server served only the check above and the second stats */
	CHECK("refused-nothing-delivered", st_ok && st1[0] == st0[0] + 2 && st1[1] == st0[1],
	      "calls=%u->%u caps=%u->%u", st0[0], st1[0], st0[1], st1[1]);

	/* a third party: the peer holds the server's mint (slot 0), a COPY of a
	 * (slot 1) and b MOVEd to it (slot 2) */
	got = peer_ask(peer, 0);
	CHECK("minted-in-call", got == BADGE_PEER, "badge=%#x", got);
	x[0] = (struct ring_xfer){ a, RING_XFER_COPY };
	r = rt_call(peer, P_STORE, NULL, 0, NULL, 0, x, 1, &c);
	got = r >= 0 ? peer_ask(peer, 1) : NO_BADGE;
	CHECK("copy-keeps-badge", got == BADGE_A, "badge=%#x r=%d", got, r);
	got = badge_via(a, &r);
	CHECK("copy-sender-keeps", got == BADGE_A, "badge=%#x r=%d", got, r);
	x[0] = (struct ring_xfer){ b, RING_XFER_MOVE };
	r = rt_call(peer, P_STORE, NULL, 0, NULL, 0, x, 1, &c);
	got = r >= 0 ? peer_ask(peer, 2) : NO_BADGE;
	CHECK("move-keeps-badge", got == BADGE_B, "badge=%#x r=%d", got, r);
	r = rt_call(b, M_BADGE, NULL, 0, NULL, 0, NULL, 0, &c);
	CHECK("moved-away-stale", r == RING_E_INVALID_REQUEST && c.detail == E_STALE, "r=%d detail=%d",
	      r, c.detail);

	rt_print("badgetest: badge-client done failures=%d", failures);
	return failures ? 3 : 0;
}

int
main(void)
{
	const char *n = rt_boot->name;
	if (strcmp(n, "badge-server") == 0)
		return serve_badges();
	if (strcmp(n, "badge-peer") == 0)
		return serve_peer();
	if (strcmp(n, "badge-client") == 0)
		return client();
	rt_print("badgetest: unknown role %s", n);
	return 1;
}
