/* TEST CODE. blkf's role by process name (blkf.h). */
#include "capos.h"
#include "blkf.h"

int
main(void)
{
	if (!memcmp(rt_boot->name, "blkf-watch", 10))
		return blkf_client_main();
	return blkf_startcrash_main();
}
