@0xc9840feacafd28f1;
# IPC plumbing (docs/kernel-abi.md). EndpointFactory is kernel-served and
# granted to init only: init creates one endpoint per service export, hands
# the raw endpoint (RECV/RETURN) to the exporting service and CALL-only
# facets to the services the manifest lists as its clients.
#
# Echo and Counter are small test interfaces served by the test services
# (user/tests/); they exercise params, results, result caps and transfers.

interface EndpointFactory {
  create @0 (interfaceId :UInt64) -> (server :Capability, client :Capability);
  # Result caps: server (RECV/RETURN) and client (CALL-only), in that order.
}

interface Echo {
  echo @0 (data :Data) -> (data :Data);
  newCounter @1 (start :UInt64) -> (counter :Counter);   # a result cap served by the echo service
  take @2 (note :Text, cap :Capability) -> (accepted :Bool);  # receives one transferred cap
}

interface Counter {
  next @0 () -> (value :UInt64);
}
