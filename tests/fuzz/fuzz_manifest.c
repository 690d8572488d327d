/* libFuzzer: the boot-manifest decoder and validator on arbitrary bytes (init runs both at boot). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mf_manifest m;
	struct mf_error err;
	uint8_t *copy = malloc(size ? size : 1);	/* exact size: ASan catches over-reads */

	memcpy(copy, data, size);
	if (mf_decode(copy, size, &m, &err) == 0)
		(void)mf_validate(&m, NULL, &err);
	free(copy);
	return 0;
}
