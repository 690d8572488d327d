/* Internals shared by the manifest decoder and validator. */
#ifndef CAPOS_MANIFEST_MF_INT_H
#define CAPOS_MANIFEST_MF_INT_H

#include "manifest/manifest.h"

/*
 * Set err->code and format err->msg, truncating at MF_MSG_MAX - 1 bytes.
 * Conversions: %s C string, %q struct mf_str (by value) in double quotes with
 * non-printable bytes shown as '?', %u unsigned, %x unsigned hex,
 * %U unsigned long long, %% percent.
 * Returns code, so callers can `return mf_errf(err, E_INVAL, ...)`.
 */
int mf_errf(struct mf_error *err, int code, const char *fmt, ...);

#endif
