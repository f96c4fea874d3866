#!/bin/bash
# Builds the standalone native tests without Node-API: every core and kernel source (per-ISA
# directories with their flags from native/isa.json) plus one test main.
#   native/test/build.sh <test.cc> <output> [extra g++ flags...]
# e.g. native/test/build.sh native/test/attention_test.cc build/attention_test
# The target is the compiler's: CXX=aarch64-linux-gnu-g++ cross-builds the arm64 kernels.
set -euo pipefail
cd "$(dirname "$0")/../.."
main=$1 out=$2
shift 2
case "$(${CXX:-g++} -dumpmachine)" in
  x86_64*) arch=x64 defs="-DMHA_HAVE_AVX2 -DMHA_HAVE_AVX512" ;;
  aarch64*) arch=arm64 defs="-DMHA_HAVE_NEON" ;;
  *) arch=none defs="" ;;
esac
# As in binding.gyp: the MHA_HAVE_* defines reach every source.
cxx="${CXX:-g++} -O3 -std=c++17 -fno-math-errno -DNDEBUG -I native $defs $*"
objdir=$(mktemp -d)
trap 'rm -rf "$objdir"' EXIT
pids=()
compile() {  # <source> [isa flags...], in the background
  local src=$1
  shift
  $cxx "$@" -c "$src" -o "$objdir/$(echo "$src" | tr / _).o" &
  pids+=($!)
}
for src in $(node tools/native-sources.mjs sources native/core native/kernels/scalar) "$main"; do
  compile "$src"
done
if [ "$arch" != none ]; then
  for isa in $(node tools/native-sources.mjs isas "$arch"); do
    flags=$(node tools/native-sources.mjs flags "$arch" "$isa" | tr '\n' ' ')
    for src in $(node tools/native-sources.mjs sources "native/kernels/$isa"); do
      compile "$src" $flags
    done
  done
fi
for pid in "${pids[@]}"; do wait "$pid"; done
mkdir -p "$(dirname "$out")"
$cxx "$objdir"/*.o -o "$out" -lpthread
