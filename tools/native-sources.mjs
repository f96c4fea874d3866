#!/usr/bin/env node
// Lists native sources for the builds (binding.gyp and CMakeLists.txt), so adding a
// kernel file never means editing two build files. native/kernels/simd/ and
// native/kernels/x86/ hold headers only and are never listed: they are compiled inside the
// ISA units that include them, with those units' flags.
//   node tools/native-sources.mjs sources <dir>...   -> .cc files under those dirs (sorted)
//   node tools/native-sources.mjs flags <arch> <isa> -> compile flags from native/isa.json
//   node tools/native-sources.mjs isas <arch>        -> the non-scalar ISAs of <arch>
import { readdirSync, readFileSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [cmd, ...args] = process.argv.slice(2);

function ccFiles(dir) {
  const abs = join(root, dir);
  let out = [];
  for (const e of readdirSync(abs, { withFileTypes: true })) {
    if (e.isDirectory()) out = out.concat(ccFiles(join(dir, e.name)));
    else if (e.name.endsWith('.cc')) out.push(relative(root, join(abs, e.name)));
  }
  return out.sort();
}

const table = JSON.parse(readFileSync(join(root, 'native/isa.json'), 'utf8'));
if (cmd === 'sources') {
  console.log(args.flatMap(ccFiles).join('\n'));
} else if (cmd === 'flags') {
  const [arch, isa] = args;
  const flags = table[arch]?.[isa];
  if (!flags) throw new Error(`no ISA '${isa}' for arch '${arch}' in native/isa.json`);
  console.log(flags.join('\n'));
} else if (cmd === 'isas') {
  console.log(Object.keys(table[args[0]] ?? {}).filter((k) => k !== 'scalar').join('\n'));
} else {
  console.error('usage: native-sources.mjs sources <dir>... | flags <arch> <isa> | isas <arch>');
  process.exit(2);
}
