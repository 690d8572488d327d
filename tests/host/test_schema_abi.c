/*
 * The schema ABI as C sees it: every generated schema header compiles in one
 * translation unit (no name clashes between schema files), and the ordinals
 * the seed fixes, the kernel-ABI exception codes and the interface ids are
 * what callers will be compiled against. The ids are pinned here on purpose:
 * a changed id must be a deliberate edit of this test as well (the released
 * snapshot check, test_schema_compat, covers the rest of the schema).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "schema/base.capnp.h"
#include "schema/block.capnp.h"
#include "schema/device.capnp.h"
#include "schema/exception.capnp.h"
#include "schema/manifest.capnp.h"
#include "schema/net.capnp.h"
#include "schema/process.capnp.h"
#include "schema/storage.capnp.h"
#include "schema/types.capnp.h"

static void
test_seed_ordinals(void **state)
{
	(void)state;
	/* Fixed by the seed's proofs: BlockDevice readBlocks @0, writeBlocks @1,
	 * flush @3; Directory.create @5, rename @6; DeviceMmio
	 * brokeredNvmeControllerEnable @6. */
	assert_int_equal(BlockDevice_readBlocks_ORDINAL, 0);
	assert_int_equal(BlockDevice_writeBlocks_ORDINAL, 1);
	assert_int_equal(BlockDevice_info_ORDINAL, 2);
	assert_int_equal(BlockDevice_flush_ORDINAL, 3);
	assert_int_equal(Directory_create_ORDINAL, 5);
	assert_int_equal(Directory_rename_ORDINAL, 6);
	assert_int_equal(DeviceMmio_brokeredNvmeControllerEnable_ORDINAL, 6);
	assert_int_equal(DMAPool_allocateBuffer_ORDINAL, 0);
	assert_int_equal(Interrupt_wait_ORDINAL, 0);
	assert_int_equal(Interrupt_acknowledge_ORDINAL, 1);
	assert_int_equal(HardwareAuditLog_snapshot_ORDINAL, 0);
	assert_int_equal(File_stat_ORDINAL, 6);
	assert_int_equal(NetworkManager_getConfig_ORDINAL, 0);
}

static void
test_exception_codes(void **state)
{
	(void)state;
	assert_int_equal(ExceptionType_failed, 0);
	assert_int_equal(ExceptionType_overloaded, 1);
	assert_int_equal(ExceptionType_disconnected, 2);
	assert_int_equal(ExceptionType_unimplemented, 3);
	assert_int_equal(ExceptionType_invalidArgument, 4);
}

static void
test_interface_ids(void **state)
{
	static const struct { const char *name; uint64_t id; } ids[] = {
		{ "Console", Console_TYPE_ID }, { "WallClock", WallClock_TYPE_ID },
		{ "EntropySource", EntropySource_TYPE_ID }, { "ProcessSpawner", ProcessSpawner_TYPE_ID },
		{ "ProcessHandle", ProcessHandle_TYPE_ID }, { "DeviceMmio", DeviceMmio_TYPE_ID },
		{ "Interrupt", Interrupt_TYPE_ID }, { "DMAPool", DMAPool_TYPE_ID },
		{ "DMABuffer", DMABuffer_TYPE_ID }, { "HardwareAuditLog", HardwareAuditLog_TYPE_ID },
		{ "BlockDevice", BlockDevice_TYPE_ID }, { "Store", Store_TYPE_ID },
		{ "Namespace", Namespace_TYPE_ID }, { "Directory", Directory_TYPE_ID },
		{ "File", File_TYPE_ID }, { "Nic", Nic_TYPE_ID },
		{ "NetworkManager", NetworkManager_TYPE_ID }, { "TcpListener", TcpListener_TYPE_ID },
		{ "TcpSocket", TcpSocket_TYPE_ID }, { "BootPackage", BootPackage_TYPE_ID },
	};
	(void)state;
	/* capnp ids have the top bit set, and interface ids are distinct. */
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		assert_true(ids[i].id >> 63);
		for (size_t j = 0; j < i; j++)
			if (ids[i].id == ids[j].id)
				fail_msg("%s and %s share an interface id", ids[i].name, ids[j].name);
	}
	assert_true(BlockDevice_TYPE_ID == 0x8ae44e19fb7f7f9bULL);
	assert_true(Store_TYPE_ID == 0x85a659e356a19d46ULL);
	assert_true(Console_TYPE_ID == 0x82f439fdc7256e85ULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_ordinals),
		cmocka_unit_test(test_exception_codes),
		cmocka_unit_test(test_interface_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
