#!/usr/bin/env bash
# The native tests (native/test/*_test.cc: kernels and the thread pool, run by ctest as
# `<test> --isa <isa>` for each kernel set in the build), in three configurations:
#   build-tests          host build (x64: scalar, avx2, avx512 kernels)
#   build-tests-asan     host build with AddressSanitizer + UndefinedBehaviorSanitizer
#   build-tests-aarch64  aarch64 cross build (scalar, neon kernels), run under qemu-aarch64
# Each build also compiles the benchmarks of native/bench/ (never run here).
# Needs cmake, g++, g++-aarch64-linux-gnu and qemu-user (tools/ci-apt.sh installs them).
# Runs every configuration, prints a summary, exits nonzero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc)
export UBSAN_OPTIONS=print_stacktrace=1
failed=()

# run <name> <build dir> <cmake args...>
run() {
  local name=$1 dir=$2
  shift 2
  echo "== $name ($dir)"
  if cmake -S . -B "$dir" -DMHA_NATIVE_TESTS=ON -DCMAKE_BUILD_TYPE=Release "$@" \
     && cmake --build "$dir" -j "$jobs" \
     && ctest --test-dir "$dir" --output-on-failure --no-tests=error -j "$jobs"; then
    echo "== $name: passed"
  else
    echo "== $name: FAILED"
    failed+=("$name")
  fi
}

run host build-tests
# Under the sanitizers and the emulator the attention test leaves out its L, S = 1000 cases.
# The sanitizer run also sends every job through the thread pool (MHA_NATIVE_INLINE_FLOPS=0).
MHA_TEST_QUICK=1 MHA_NATIVE_INLINE_FLOPS=0 run sanitizers build-tests-asan -DMHA_SANITIZE=ON
MHA_TEST_QUICK=1 run aarch64-qemu build-tests-aarch64 -DCMAKE_TOOLCHAIN_FILE=tools/aarch64-toolchain.cmake

if ((${#failed[@]})); then
  echo "native tests FAILED: ${failed[*]}"
  exit 1
fi
echo "native tests passed: host, sanitizers, aarch64-qemu"
