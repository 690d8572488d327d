// bench-capnp: the capOS C runtime against the official C++ library
// (libcapnp-dev) on the same messages, in the same process and run.
// Workloads: read and build a boot-manifest-like message (12 services, 4
// grants each) and a 4 KiB record. Readers walk every field and compute the
// same checksum on both sides (checked). Builders serialize to stream framing
// into a preallocated buffer (C++: MallocMessageBuilder over a reused
// scratch first segment + writeMessage to an ArrayOutputStream).
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/io.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bench_capnp.h"
#include "tests/host/capnp/test.capnp.h"

namespace {

alignas(8) unsigned char g_out[1 << 16];
alignas(8) unsigned char g_arena[1 << 16];
capnp::word g_scratch[(1 << 16) / 8];

uint64_t sumText(capnp::Text::Reader t) { return t.size() + (uint8_t)(t.size() ? t[0] : 0); }

uint64_t cxxReadManifest(const void *buf, size_t len) {
  capnp::FlatArrayMessageReader reader(
      kj::arrayPtr(reinterpret_cast<const capnp::word *>(buf), len / 8));
  auto man = reader.getRoot<Manifest>();
  uint64_t sum = man.getVersion();
  for (auto b : man.getBinaries()) sum += sumText(b);
  for (auto s : man.getServices()) {
    sum += sumText(s.getName());
    sum += sumText(s.getBinary());
    sum += s.getPriority() + s.getRestart();
    for (auto a : s.getArgs()) sum += sumText(a);
    for (auto g : s.getGrants()) {
      sum += sumText(g.getName());
      sum += sumText(g.getSource());
      sum += g.getInterfaceId() + g.getMethod();
    }
  }
  return sum;
}

size_t writeOut(capnp::MessageBuilder &mb) {
  kj::ArrayOutputStream os(kj::arrayPtr(g_out, sizeof(g_out)));
  capnp::writeMessage(os, mb);
  return os.getArray().size();
}

size_t cxxBuildManifest(const bench_manifest &in) {
  capnp::MallocMessageBuilder mb(kj::arrayPtr(g_scratch, sizeof(g_scratch) / 8));
  auto man = mb.initRoot<Manifest>();
  man.setVersion(1);
  auto bins = man.initBinaries(in.nsvc);
  auto svcs = man.initServices(in.nsvc);
  for (uint32_t i = 0; i < in.nsvc; i++) {
    const bench_service &sv = in.svc[i];
    bins.set(i, sv.binary);
    auto s = svcs[i];
    s.setName(sv.name);
    s.setBinary(sv.binary);
    s.setPriority(sv.priority);
    s.setRestart(sv.restart);
    auto args = s.initArgs(2);
    for (uint32_t j = 0; j < 2; j++) args.set(j, sv.args[j]);
    auto grants = s.initGrants(4);
    for (uint32_t j = 0; j < 4; j++) {
      auto g = grants[j];
      g.setName(sv.grant[j].name);
      g.setSource(sv.grant[j].source);
      g.setInterfaceId(sv.grant[j].iface);
      g.setMethod(sv.grant[j].method);
    }
  }
  return writeOut(mb);
}

uint64_t cxxReadRecord(const void *buf, size_t len) {
  capnp::FlatArrayMessageReader reader(
      kj::arrayPtr(reinterpret_cast<const capnp::word *>(buf), len / 8));
  auto r = reader.getRoot<Record>();
  uint64_t sum = r.getId() + r.getMtime() + r.getFlags();
  sum += sumText(r.getName());
  auto d = r.getPayload();
  if (d.size() == 0) return 0;
  return sum + d.size() + d[0] + d[d.size() - 1];
}

size_t cxxBuildRecord(const bench_record &in) {
  capnp::MallocMessageBuilder mb(kj::arrayPtr(g_scratch, sizeof(g_scratch) / 8));
  auto r = mb.initRoot<Record>();
  r.setId(in.id);
  r.setMtime(in.mtime);
  r.setFlags(in.flags);
  r.setName(in.name);
  r.setPayload(kj::arrayPtr(in.payload, in.payload_len));
  return writeOut(mb);
}

volatile uint64_t g_sink;

// Runs f repeatedly for about `seconds`; returns calls per second.
template <typename F> double rate(F f, double seconds) {
  using clk = std::chrono::steady_clock;
  uint64_t n = 0;
  auto t0 = clk::now();
  double el = 0;
  do {
    for (int i = 0; i < 256; i++) g_sink += f();
    n += 256;
    el = std::chrono::duration<double>(clk::now() - t0).count();
  } while (el < seconds);
  return n / el;
}

struct Row {
  const char *name;
  size_t bytes;
  double ours, theirs;
};

// Alternate the two sides for `rounds` short runs and keep each side's best
// rate: the host is shared and drifts, so interleaving keeps the comparison
// inside one time window.
template <typename A, typename B>
Row measure(const char *name, size_t bytes, A ours, B theirs, double seconds) {
  Row r = {name, bytes, 0, 0};
  const int rounds = 5;
  for (int i = 0; i < rounds; i++) {
    double a = rate(ours, seconds / rounds), b = rate(theirs, seconds / rounds);
    if (a > r.ours) r.ours = a;
    if (b > r.theirs) r.theirs = b;
  }
  return r;
}

void printRow(const Row &r) {
  std::printf("%-16s %7zu %12.0f %10.1f %12.0f %10.1f %8.2fx\n", r.name, r.bytes, r.ours,
              r.ours * r.bytes / 1e6, r.theirs, r.theirs * r.bytes / 1e6, r.ours / r.theirs);
}

char g_names[12][2][48];

void makeManifest(bench_manifest &m) {
  static const char *kinds[12] = {"console", "clock", "entropy", "blk",  "nvme", "store",
                                  "fs",      "fat",   "net",     "web",  "log",  "audit"};
  m.nsvc = 12;
  for (int i = 0; i < 12; i++) {
    bench_service &s = m.svc[i];
    std::snprintf(g_names[i][0], 48, "%s-svc", kinds[i]);
    std::snprintf(g_names[i][1], 48, "--id=%d", i);
    s.name = g_names[i][0];
    s.binary = kinds[i];
    s.args[0] = "--verbose";
    s.args[1] = g_names[i][1];
    s.priority = (uint8_t)(i * 3);
    s.restart = i % 2;
    for (int j = 0; j < 4; j++) {
      s.grant[j].name = j == 0 ? "cap0" : j == 1 ? "cap1" : j == 2 ? "cap2" : "cap3";
      s.grant[j].source = kinds[(i + j) % 12];
      s.grant[j].iface = 0x8000000000000000ull + i * 977 + j;
      s.grant[j].method = (uint16_t)j;
    }
  }
}

}  // namespace

int main(int argc, char **argv) {
  double secs = argc > 1 ? std::atof(argv[1]) : 1.0;
  bench_manifest man;
  makeManifest(man);
  std::vector<uint8_t> payload(4000);
  for (size_t i = 0; i < payload.size(); i++) payload[i] = (uint8_t)(i * 131 + 7);
  bench_record rec = {42, 1700000000000000000ull, 0x5, "record-000042", payload.data(),
                      payload.size()};

  // Reference encodings by the C++ library, and cross-checks both ways.
  size_t mlen = cxxBuildManifest(man);
  std::vector<capnp::word> mref(mlen / 8);
  std::memcpy(mref.data(), g_out, mlen);
  size_t rlen = cxxBuildRecord(rec);
  std::vector<capnp::word> rref(rlen / 8);
  std::memcpy(rref.data(), g_out, rlen);
  int ours = bench_c_build_manifest(&man, g_arena, sizeof(g_arena), g_out, sizeof(g_out));
  if (ours <= 0 || (size_t)ours != mlen || cxxReadManifest(g_out, ours) != cxxReadManifest(mref.data(), mlen) ||
      bench_c_read_manifest(mref.data(), mlen) != cxxReadManifest(mref.data(), mlen)) {
    std::fprintf(stderr, "bench-capnp: manifest cross-check failed\n");
    return 1;
  }
  ours = bench_c_build_record(&rec, g_arena, sizeof(g_arena), g_out, sizeof(g_out));
  if (ours <= 0 || (size_t)ours != rlen || cxxReadRecord(g_out, ours) != cxxReadRecord(rref.data(), rlen) ||
      bench_c_read_record(rref.data(), rlen) != cxxReadRecord(rref.data(), rlen)) {
    std::fprintf(stderr, "bench-capnp: record cross-check failed\n");
    return 1;
  }

  Row rows[4] = {
      measure("manifest read", mlen,
              [&] { return bench_c_read_manifest(mref.data(), mlen); },
              [&] { return cxxReadManifest(mref.data(), mlen); }, secs),
      measure("manifest build", mlen,
              [&] { return (uint64_t)bench_c_build_manifest(&man, g_arena, sizeof(g_arena), g_out, sizeof(g_out)); },
              [&] { return (uint64_t)cxxBuildManifest(man); }, secs),
      measure("record4k read", rlen,
              [&] { return bench_c_read_record(rref.data(), rlen); },
              [&] { return cxxReadRecord(rref.data(), rlen); }, secs),
      measure("record4k build", rlen,
              [&] { return (uint64_t)bench_c_build_record(&rec, g_arena, sizeof(g_arena), g_out, sizeof(g_out)); },
              [&] { return (uint64_t)cxxBuildRecord(rec); }, secs),
  };
  std::printf("bench-capnp: capOS C runtime vs libcapnp %d.%d.%d (same messages, same run, best of 5 interleaved rounds, %.1fs per side)\n",
              CAPNP_VERSION_MAJOR, CAPNP_VERSION_MINOR, CAPNP_VERSION_MICRO, secs);
  std::printf("%-16s %7s %12s %10s %12s %10s %9s\n", "workload", "bytes", "capOS msg/s", "capOS MB/s",
              "C++ msg/s", "C++ MB/s", "capOS/C++");
  for (const Row &r : rows) printRow(r);
  return 0;
}
