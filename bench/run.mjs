// `npm run bench`: measures the machine's peaks, runs each workload in its own worker process
// (bench/case-worker.mjs), prints the table and writes bench/results/<date>-<host>.{json,md,svg}
// plus latest.md / latest.svg.
//   --full               more rounds and longer sampling (default: the quick profile)
//   --workloads W1,W3    a subset (also the sets gemm = G0,G1,G2,GQ,GP and tiny = the harness
//                        test's small workloads)
//   --threads N          threads for every backend, peer and probe (default: getNumThreads())
//   --out DIR            where results go (default bench/results); a subset run writes
//                        <date>-<host>-<subset>.* and leaves the full run's files and latest.* alone
//   --rounds N --max-time S --read-mib N --python PATH   overrides
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { compileProbes, measurePeaks } from './probes.mjs';
import { buildRows, markdown, textTable } from './report.mjs';
import { cpuTicks, stealPercent } from './steal.mjs';
import { chart } from './svg.mjs';
import { makeInputs, selectWorkloads, WORKLOADS, writeInputs } from './workloads.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PROFILES = {
  quick: { name: 'quick', rounds: 3, maxTime: 0.2, minSamples: 2, referenceLimitSeconds: 15 },
  full: { name: 'full', rounds: 7, maxTime: 1.0, minSamples: 5, referenceLimitSeconds: 60 },
};

const log = (msg) => process.stderr.write(`${msg}\n`);

function parseOptions(argv) {
  const { values } = parseArgs({ args: argv, options: {
    full: { type: 'boolean', default: false }, workloads: { type: 'string' }, threads: { type: 'string' },
    out: { type: 'string' }, rounds: { type: 'string' }, 'max-time': { type: 'string' },
    'read-mib': { type: 'string' }, python: { type: 'string' },
  } });
  const profile = { ...PROFILES[values.full ? 'full' : 'quick'] };
  if (values.rounds) profile.rounds = Number(values.rounds);
  if (values['max-time']) profile.maxTime = Number(values['max-time']);
  return { profile, workloads: selectWorkloads(values.workloads), subset: subsetName(values.workloads),
    threads: values.threads && Number(values.threads),
    out: path.resolve(values.out ?? path.join(ROOT, 'bench', 'results')), readMiB: Number(values['read-mib'] ?? 1024),
    python: values.python ?? '/usr/bin/python3' };
}

/** '' for the default workload set, else a file-name part naming the subset ("gemm", "W1-W3"). */
function subsetName(spec) {
  return !spec || spec === 'default' ? '' : spec.replace(/[^A-Za-z0-9]+/g, '-');
}

/** The compiled package entry; runs tsc when dist/ is missing. */
async function loadPackage() {
  const entry = path.join(ROOT, 'dist', 'index.js');
  if (!fs.existsSync(entry)) {
    log('dist/index.js missing: running tsc -p tsconfig.json');
    spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
      { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  }
  try {
    const mod = await import(pathToFileURL(entry).href);
    return { entry, info: mod.nativeInfo(), threads: mod.getNumThreads() };
  } catch (e) {
    return { entry, error: e.message.split('\n')[0] };
  }
}

function runWorker(jobFile, id) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bench', 'case-worker.mjs'), jobFile], { stdio: ['ignore', 'inherit', 'pipe'] });
    let tail = '';
    child.stderr.on('data', (d) => { process.stderr.write(d); tail = (tail + d).slice(-2000); });
    child.on('close', (code) => resolve(code === 0 ? undefined
      : `worker for ${id} exited ${code}: ${tail.match(/worker error: (.*)/)?.[1] ?? tail.trim().split('\n').slice(-1)[0]}`));
  });
}

function ortVersion() {
  try { return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8')).version; } catch { return undefined; }
}

/** One workload in a fresh worker process: inputs written to its own dir, result read back. */
async function runWorkload(id, { tmp, threads, opts, pkg, probes, peaks }) {
  const dir = path.join(tmp, id);
  fs.mkdirSync(dir);
  const workload = WORKLOADS[id];
  writeInputs(dir, makeInputs(workload));
  const job = { id, workload, dir, threads, profile: opts.profile, distEntry: pkg.entry, python: opts.python,
    modelsDir: path.join(ROOT, 'bench', 'models'),
    probes: { openblas: probes.openblas, openblasError: probes.openblasError, isa: peaks.isa, readBw: probes.readBw,
      readMiB: opts.readMiB } };
  fs.writeFileSync(path.join(dir, 'job.json'), JSON.stringify(job));
  log(`== ${id}: ${workload.title}`);
  const t0 = Date.now(), ticks0 = cpuTicks();
  const error = await runWorker(path.join(dir, 'job.json'), id);
  const stealPct = stealPercent(ticks0, cpuTicks());
  log(`== ${id}: ${((Date.now() - t0) / 1000).toFixed(1)} s${stealPct === undefined ? '' : `, hypervisor steal ${stealPct.toFixed(0)}%`}`);
  const result = error ? { id, workload, error, cases: [], flops: 0, bytes: 0 }
    : JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8'));
  return { ...result, stealPct };
}

/** Writes <date>-<host>[-<subset>].{json,md,svg} into opts.out, and latest.{md,svg} for a run of
 * the default set (so a partial run never replaces the full report); prints the table. */
function writeReport({ opts, threads, pkg, peaks, results, started }) {
  const all = results.flatMap((r) => r.cases);
  const date = new Date().toISOString();
  const meta = {
    date, host: os.hostname(), command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    profile: opts.profile, threads, cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.availableParallelism(),
    memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, nativeInfo: pkg.info, nativeError: pkg.error,
    ortVersion: ortVersion(), torchVersion: all.find((c) => c.peer === 'pytorch' && c.version)?.version,
    openblasConfig: all.find((c) => c.id === 'openblas' && c.version)?.version,
    seconds: Math.round((Date.now() - started) / 1000),
  };
  const rows = buildRows(results, peaks);
  const report = { meta, peaks, results, rows };
  const stem = `${date.slice(0, 10)}-${meta.host}${opts.subset ? `-${opts.subset}` : ''}`;
  fs.mkdirSync(opts.out, { recursive: true });
  const svg = chart(rows, peaks.fmaGflops, `mha-native: GFLOP/s per workload (${threads} threads, ${meta.host}, ${date.slice(0, 10)})`);
  fs.writeFileSync(path.join(opts.out, `${stem}.json`), `${JSON.stringify(report, null, 1)}\n`);
  fs.writeFileSync(path.join(opts.out, `${stem}.svg`), svg);
  fs.writeFileSync(path.join(opts.out, `${stem}.md`), markdown(report, `${stem}.svg`));
  if (!opts.subset) {
    fs.writeFileSync(path.join(opts.out, 'latest.svg'), svg);
    fs.writeFileSync(path.join(opts.out, 'latest.md'), markdown(report, 'latest.svg'));
  }
  process.stdout.write(`${textTable(rows)}\n\nPeaks: FMA ${peaks.fmaGflops.toFixed(1)} GFLOP/s, read ${peaks.readGBps.toFixed(1)} GB/s `
    + `(${threads} threads). ${meta.seconds} s. Wrote ${path.join(opts.out, stem)}.{json,md,svg}`
    + `${opts.subset ? '' : ' and latest.{md,svg}'}\n`);
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  const started = Date.now();
  const pkg = await loadPackage();
  const threads = opts.threads || pkg.threads || os.availableParallelism();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mha-bench-'));
  try {
    const probes = compileProbes(tmp);
    let peaks = measurePeaks(probes, threads, opts.readMiB);
    log(`probes: FMA ${peaks.fmaGflops.toFixed(1)} GFLOP/s (${peaks.isa}, ${threads} threads; median trial `
      + `${peaks.fmaMedianGflops.toFixed(1)}), read ${peaks.readGBps.toFixed(1)} GB/s`);
    const results = [];
    for (const id of opts.workloads) results.push(await runWorkload(id, { tmp, threads, opts, pkg, probes, peaks }));
    // the peaks again at the end (the machine is shared): keep the higher figure of each, and
    // both median FMA trials (what the cores gave most of the time, at the start and at the end)
    const again = measurePeaks(probes, threads, opts.readMiB);
    peaks = { ...peaks, fmaGflops: Math.max(peaks.fmaGflops, again.fmaGflops), readGBps: Math.max(peaks.readGBps, again.readGBps),
      fmaMedianGflops: [peaks.fmaMedianGflops, again.fmaMedianGflops] };
    writeReport({ opts, threads, pkg, peaks, results, started });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  log(e.stack);
  process.exit(1);
});
