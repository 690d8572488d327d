/* Stable names for the error codes in err.h. */
#include "base/err.h"

const char *
err_name(int err)
{
	switch (err) {
	case E_OK: return "ok";
	case E_INVAL: return "invalid";
	case E_RANGE: return "out-of-range";
	case E_NOMEM: return "no-memory";
	case E_NOSPC: return "no-space";
	case E_NOENT: return "not-found";
	case E_EXIST: return "exists";
	case E_CORRUPT: return "corrupt";
	case E_IO: return "io-error";
	case E_PERM: return "permission";
	case E_STALE: return "stale";
	case E_BUSY: return "busy";
	case E_LIMIT: return "limit";
	case E_TOOBIG: return "too-big";
	case E_NOTSUP: return "not-supported";
	case E_AGAIN: return "again";
	case E_TIMEOUT: return "timeout";
	case E_DISCONNECTED: return "disconnected";
	case E_LOOP: return "loop";
	case E_BADF: return "bad-handle";
	case E_NAME: return "bad-name";
	}
	return "unknown-error";
}
