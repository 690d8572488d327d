#!/usr/bin/env bash
# capOS test driver: runs the host unit tests, the fuzz smoke and the QEMU
# system tests, and ends with one summary line. Exit status 0 only if all passed.
# Usage: run-tests.sh all|host|fuzz|system   (HOST_TESTS / FUZZ_TARGETS from make)
set -u
cd "$(dirname "$0")/.."
BUILD=build
what=${1:-all}
FUZZ_SMOKE_SECONDS=${FUZZ_SMOKE_SECONDS:-10}
mkdir -p $BUILD/logs
host_pass=0; host_fail=0; fuzz_pass=0; fuzz_fail=0; sys_pass=0; sys_fail=0
failed=()

run_host() {
	for t in ${HOST_TESTS:-}; do
		log=$BUILD/logs/host-$t.log
		if (cd $BUILD && "./host/$t") >"$log" 2>&1; then
			host_pass=$((host_pass + 1)); echo "PASS host $t"
		else
			host_fail=$((host_fail + 1)); failed+=("host:$t"); echo "FAIL host $t (log: $log)"
			tail -n 30 "$log"
		fi
	done
}

run_fuzz() {
	for t in ${FUZZ_TARGETS:-}; do
		log=$BUILD/logs/fuzz-$t.log
		corpus=$BUILD/fuzz/corpus/$t; mkdir -p "$corpus"
		seeds=; [ -d tests/fuzz/corpus/$t ] && seeds=tests/fuzz/corpus/$t
		if "$BUILD/fuzz/$t" -max_total_time="$FUZZ_SMOKE_SECONDS" "$corpus" $seeds >"$log" 2>&1; then
			fuzz_pass=$((fuzz_pass + 1)); echo "PASS fuzz $t (${FUZZ_SMOKE_SECONDS}s)"
		else
			fuzz_fail=$((fuzz_fail + 1)); failed+=("fuzz:$t"); echo "FAIL fuzz $t (log: $log)"
			tail -n 40 "$log"
		fi
	done
}

run_system() {
	log=$BUILD/logs/pytest.log
	xml=$BUILD/logs/pytest.xml
	rm -f "$xml"
	# Two QEMU guests at a time: TCG runs one guest per host core.
	workers=${PYTEST_WORKERS:-2}
	par=; [ "$workers" -gt 1 ] && par="-n $workers"
	/usr/bin/python3 -m pytest -q -rfE $par --junitxml="$xml" tests/system ${PYTEST_ARGS:-} 2>&1 | tee "$log"
	read -r sys_pass sys_fail < <(/usr/bin/python3 - "$xml" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    r = ET.parse(sys.argv[1]).getroot()
    s = r if r.tag == "testsuite" else r.find("testsuite")
    t, f, e, k = (int(s.get(x, 0)) for x in ("tests", "failures", "errors", "skipped"))
    print(t - f - e - k, f + e)
except Exception:
    print(0, 1)
PY
)
	[ "$sys_fail" != 0 ] && failed+=("system")
}

case $what in
	all) run_host; run_fuzz; run_system ;;
	host) run_host ;;
	fuzz) run_fuzz ;;
	system) run_system ;;
	*) echo "usage: $0 all|host|fuzz|system" >&2; exit 2 ;;
esac

total_fail=$((host_fail + fuzz_fail + sys_fail))
verdict=PASS; [ $total_fail -ne 0 ] && verdict=FAIL
echo "capOS test summary: $verdict host $host_pass/$((host_pass + host_fail)) fuzz $fuzz_pass/$((fuzz_pass + fuzz_fail)) system $sys_pass/$((sys_pass + sys_fail))${failed:+ failed: ${failed[*]}}"
[ $total_fail -eq 0 ]
