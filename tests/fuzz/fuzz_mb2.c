/* libFuzzer: the multiboot2 parser and the memory-map sanitiser on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/mb2.h"
#include "boot/memmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mb2_info info;
	static struct mm_map m;
	char err[128];
	uint8_t *copy = malloc(size ? size : 1);	/* exact size: ASan catches over-reads */

	memcpy(copy, data, size);
	if (mb2_parse(copy, size, &info, err, sizeof err) == 0) {
		mm_build(&m, info.mmap, info.mmap_count);
		for (uint32_t i = 0; i < info.module_count; i++)
			mm_remove(&m, info.modules[i].start, info.modules[i].end);
		mm_build(&m, info.efi_mmap, info.efi_mmap_count);
	}
	free(copy);
	return 0;
}
