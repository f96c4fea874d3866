#!/bin/sh
# Cross-compiles the GEMM test for aarch64 (scalar + NEON kernels, the framework, dispatch,
# CPU detection, thread pool) with Debian's aarch64-linux-gnu-g++ and runs it under
# qemu-aarch64, once per kernel set (NEON, then scalar forced by MHA_NATIVE_ISA).
#   tools/build-neon-test.sh [build-dir]     (default: build-neon-test)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$root/build-neon-test"}
mkdir -p "$out"
CXX=${CXX:-aarch64-linux-gnu-g++}
flags="-O2 -std=c++17 -Wall -Wextra -Werror -I $root/native -DMHA_HAVE_NEON $(node "$root/tools/native-sources.mjs" flags arm64 neon | tr '\n' ' ')"
srcs="native/core/cpu.cc native/core/dispatch.cc native/core/threadpool.cc native/core/gemm.cc
      $(node "$root/tools/native-sources.mjs" sources native/kernels/scalar native/kernels/neon)
      native/test/gemm_test.cc"
objs=""
for s in $srcs; do
  o="$out/$(basename "$s" .cc).o"
  $CXX $flags -c "$root/$s" -o "$o"
  objs="$objs $o"
done
$CXX -static $objs -o "$out/gemm_test" -lpthread
for isa in neon scalar; do
  qemu-aarch64 "$out/gemm_test" --isa "$isa"
done
