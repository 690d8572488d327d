/*
 * One error convention for all of capOS (kernel, libraries, services, tools):
 * a function returns 0 or a positive value on success and one of these
 * negative codes on failure. Codes are never renumbered: they travel in ring
 * completions and in tool exit messages. err_name() gives the stable name.
 */
#ifndef CAPOS_BASE_ERR_H
#define CAPOS_BASE_ERR_H

enum capos_err {
	E_OK = 0,
	E_INVAL = -1,        /* malformed argument or input */
	E_RANGE = -2,        /* index, offset or length out of bounds */
	E_NOMEM = -3,        /* allocator or arena exhausted */
	E_NOSPC = -4,        /* volume or table full */
	E_NOENT = -5,        /* name or object does not exist */
	E_EXIST = -6,        /* name or object already exists */
	E_CORRUPT = -7,      /* on-disk or on-wire structure fails validation */
	E_IO = -8,           /* device or block-layer error */
	E_PERM = -9,         /* capability does not permit this */
	E_STALE = -10,       /* handle generation no longer current */
	E_BUSY = -11,        /* object in a state that forbids the request */
	E_LIMIT = -12,       /* a documented limit was reached (name it in the message) */
	E_TOOBIG = -13,      /* object larger than a buffer or format allows */
	E_NOTSUP = -14,      /* feature or operation not supported */
	E_AGAIN = -15,       /* try again later */
	E_TIMEOUT = -16,     /* deadline passed */
	E_DISCONNECTED = -17,/* peer went away */
	E_LOOP = -18,        /* cycle detected in a chain or graph */
	E_BADF = -19,        /* closed or wrong-kind handle */
	E_NAME = -20,        /* invalid or reserved name */
};

const char *err_name(int err);

#endif
