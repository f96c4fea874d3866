#!/usr/bin/env bash
# Packaging smoke test:
#   1. `npm pack` (prepack compiles dist/ and the prebuild) in a staging copy of the working
#      tree, so the repository's own build/ and prebuilds/ are left alone; the tarball must be
#      < 5 MB and hold dist/, the prebuild and the native sources;
#   2. installs the tarball into an empty project with every compiler and make replaced by a
#      shim that records its use: the addon must come from the prebuild, no compiler may run,
#      and both `import { MultiHeadAttention, nativeInfo } from 'mha-native'` and the same
#      through `require('mha-native')` (test/fixtures/require-forward.cjs) + a forward must work;
#   3. installs the same tarball without prebuilds/: node-gyp-build must compile from source,
#      with the node-gyp npm bundles and puts on PATH for install scripts (the package does not
#      depend on node-gyp).
# Each install may hold at most mha-native and its runtime dependencies (node-gyp-build,
# node-addon-api): a consumer gets only what runs. Dependencies come from the npm registry.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/mha-pack-smoke.XXXXXX)
trap 'rm -rf "$work"' EXIT
platform=$(node -p 'process.platform + "-" + process.arch')
npm_quiet=(--no-audit --no-fund --loglevel=error)

echo "== 1. npm pack (staging copy: $work/src)"
mkdir "$work/src"
(cd "$root" && git ls-files -z --cached --others --exclude-standard \
  | xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' _ \
  | xargs -0 cp --parents -t "$work/src")
ln -s "$root/node_modules" "$work/src/node_modules"
(cd "$work/src" && npm pack "${npm_quiet[@]}" --pack-destination "$work" >/dev/null)
tarball=$(ls "$work"/mha-native-*.tgz)
size=$(stat -c %s "$tarball")
echo "tarball $(basename "$tarball"): $size bytes"
if ((size >= 5 * 1024 * 1024)); then echo "FAIL: tarball is 5 MB or more"; exit 1; fi
listing=$(tar tzf "$tarball")
for f in package/dist/index.js package/dist/index.d.ts package/binding.gyp package/native/isa.json \
         package/tools/native-sources.mjs package/CMakeLists.txt "package/prebuilds/$platform/mha-native.node"; do
  grep -qx "$f" <<<"$listing" || { echo "FAIL: $f missing from the tarball"; exit 1; }
done
echo "tarball holds dist/, the $platform prebuild and the native sources ($(wc -l <<<"$listing") files)"

# A forward through the installed package, checked against its TypeScript reference; prints
# the kernel set and the addon file the process actually mapped.
cat > "$work/smoke.mjs" <<'EOF'
import { readFileSync } from 'node:fs';
import { MultiHeadAttention, nativeInfo } from 'mha-native';

const x = { data: Float32Array.from({ length: 2 * 5 * 8 }, (_, i) => Math.sin(i)), shape: [2, 5, 8] };
const options = { isCausal: true, needWeights: true };
const native = new MultiHeadAttention({ embedDim: 8, numHeads: 2, seed: 3 }).forward(x, x, x, options);
const ref = new MultiHeadAttention({ embedDim: 8, numHeads: 2, seed: 3, backend: 'reference' }).forward(x, x, x, options);
let num = 0, den = 0;
for (let i = 0; i < ref.output.data.length; i++) {
  num += (native.output.data[i] - ref.output.data[i]) ** 2;
  den += ref.output.data[i] ** 2;
}
const err = Math.sqrt(num / den);
if (!(err <= 2e-5) || native.output.shape.join() !== '2,5,8') throw new Error(`forward mismatch: rel L2 ${err}`);
const addon = readFileSync('/proc/self/maps', 'utf8').split('\n').find((l) => l.endsWith('.node'))?.split(/\s+/).pop();
console.log(JSON.stringify({ nativeInfo: nativeInfo(), relL2: err, addon }));
EOF

# install_into <dir> <tarball> [env args...]: an empty project with the tarball installed.
install_into() {
  local dir=$1 tgz=$2
  shift 2
  mkdir "$dir"
  echo '{"name":"smoke","version":"1.0.0","private":true,"type":"module"}' > "$dir/package.json"
  cp "$work/smoke.mjs" "$dir/"
  cp "$root/test/fixtures/require-forward.cjs" "$dir/"
  (cd "$dir" && env "$@" npm install "${npm_quiet[@]}" "$tgz")
}

# check_footprint <dir>: the installed tree holds at most mha-native and its dependencies.
max_packages=3
check_footprint() {
  local installed
  installed=$(cd "$1" && npm ls --all --parseable "${npm_quiet[@]}" | tail -n +2 | sed "s|^$1/node_modules/||") \
    || { echo "FAIL: npm ls found a broken tree in $1"; exit 1; }
  local count
  count=$(grep -c . <<<"$installed" || true)
  echo "installed packages ($count): $(tr '\n' ' ' <<<"$installed")"
  if ((count > max_packages)); then
    echo "FAIL: installing the tarball pulled $count packages, at most $max_packages allowed" \
         "(mha-native and its dependencies); check package.json \"dependencies\""
    exit 1
  fi
}

# run_require <dir> <addon path suffix>: require('mha-native') from CommonJS and a forward.
run_require() {
  local result
  result=$(cd "$1" && node require-forward.cjs) || { echo "FAIL: require('mha-native') + forward failed"; exit 1; }
  echo "$result"
  grep -q "\"resolved\":\"$1/node_modules/mha-native/dist/index.js\"" <<<"$result" \
    || { echo "FAIL: require('mha-native') did not resolve to the installed dist/index.js"; exit 1; }
  grep -q "node_modules/mha-native/$2" <<<"$result" \
    || { echo "FAIL: require('mha-native') did not load $2"; exit 1; }
}

echo "== 2. install from the prebuild, no compiler"
shims="$work/no-compiler"
mkdir "$shims"
for tool in cc c++ gcc g++ clang clang++ make cmake ninja; do
  printf '#!/bin/sh\necho "%s $*" >> "%s/compiler-used"\nexit 1\n' "$tool" "$work" > "$shims/$tool"
  chmod +x "$shims/$tool"
done
if ! install_into "$work/prebuilt" "$tarball" -u npm_config_build_from_source CC=false CXX=false PATH="$shims:$PATH" \
   || [ -e "$work/compiler-used" ]; then
  echo "FAIL: the prebuild install failed or ran a compiler:"
  cat "$work/compiler-used" 2>/dev/null || true
  exit 1
fi
result=$(cd "$work/prebuilt" && node smoke.mjs)
echo "$result"
grep -q "node_modules/mha-native/prebuilds/$platform/mha-native.node" <<<"$result" \
  || { echo "FAIL: the addon did not come from the prebuild"; exit 1; }
[ ! -e "$work/prebuilt/node_modules/mha-native/build" ] || { echo "FAIL: a build/ dir was made"; exit 1; }
run_require "$work/prebuilt" "prebuilds/$platform/mha-native.node"
check_footprint "$work/prebuilt"

echo "== 3. install without the prebuild: compiles from source"
mkdir "$work/unpacked"
tar xzf "$tarball" -C "$work/unpacked"
rm -rf "$work/unpacked/package/prebuilds"
tar czf "$work/mha-native-source-only.tgz" -C "$work/unpacked" package
install_into "$work/from-source" "$work/mha-native-source-only.tgz"
result=$(cd "$work/from-source" && node smoke.mjs)
echo "$result"
grep -q "node_modules/mha-native/build/Release/mha_native.node" <<<"$result" \
  || { echo "FAIL: the addon was not compiled at install"; exit 1; }
run_require "$work/from-source" "build/Release/mha_native.node"
check_footprint "$work/from-source"

echo "pack smoke passed: tarball $size bytes; prebuild install ran no compiler; source install compiled;" \
     "import and require work; at most $max_packages packages installed"
