/*
 * TEST CODE. blkf: the one test program of the block-driver fault tests
 * (tests/system/test_blk_faults.py, docs/testing.md "Block-driver faults").
 * One boot module with two roles, chosen by process name, because every
 * boot module counts against the kernel's MB2_MAX_MODULES (256):
 *   blkf-watch...  the client that watches a failing driver (client.c)
 *   anything else  a virtio-blk driver that dies in its start-up (startcrash.c)
 */
#ifndef CAPOS_TESTS_BLKF_H
#define CAPOS_TESTS_BLKF_H

int blkf_client_main(void);
int blkf_startcrash_main(void);

#endif
