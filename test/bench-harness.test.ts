// The benchmark harness end to end on the tiny workloads (one layer, one decode step, one
// SGEMM, one batched SGEMM) into a temp dir: the JSON, Markdown and SVG it writes are
// well-formed and hold every row. No speed is asserted. PyTorch is pointed at a python that does
// not exist, so the run needs no python and shows that a missing peer is reported, not dropped;
// the PyTorch peer's batched path is run on its own below, where torch is installed.
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { torchCases } from '../bench/peers/torch.mjs';
import { makeInputs, WORKLOADS, writeInputs } from '../bench/workloads.mjs';
import { reference } from '../lib/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Case {
  id: string; peer: string; variant: string; status: string; reason?: string; relL2?: number; checkedAgainst?: string;
  stats?: { n: number; median: number; q1: number; q3: number; min: number; max: number };
  peakRssGrowthBytes?: number;
  paired?: { against: string; burstSeconds: number; ratio: { n: number; median: number; q1: number; q3: number } };
}
interface Report {
  meta: { threads: number; profile: { name: string } };
  peaks: { fmaGflops: number; fmaMedianGflops: number[]; readGBps: number };
  results: { id: string; flops: number; cases: Case[] }[];
  rows: { workload: string; peer: string; variant: string; gflops?: number; pctPeak?: number }[];
}

/** Tags balance and nest (a well-formedness check for the hand-built SVG; no parser dependency). */
function tagsBalanced(xml: string): boolean {
  const stack: string[] = [];
  for (const m of xml.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    if (selfClosing) continue;
    if (!closing) stack.push(name);
    else if (stack.pop() !== name) return false;
  }
  return stack.length === 0;
}

describe('bench harness (tiny workloads)', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mha-bench-test-'));
  let stdout = '';
  let report: Report;
  let stem: string;

  beforeAll(async () => {
    expect(inject('distBuildError')).toBe('');
    const args = ['bench/run.mjs', '--workloads', 'tiny', '--rounds', '1', '--max-time', '0.02',
      '--read-mib', '64', '--threads', '2', '--python', path.join(out, 'no-such-python'), '--out', out];
    ({ stdout } = await promisify(execFile)(process.execPath, args, { cwd: root, timeout: 110_000 }));
    const json = fs.readdirSync(out).find((f) => f.endsWith('.json'));
    expect(json).toBeDefined();
    stem = json!.slice(0, -'.json'.length);
    report = JSON.parse(fs.readFileSync(path.join(out, json!), 'utf8'));
  });
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  it('measures every tiny workload with mha-native, the reference and every ONNX Runtime variant', () => {
    expect(report.results.map((r) => r.id)).toEqual(['T1', 'T3', 'TG', 'TB']);
    expect(report.meta.threads).toBe(2);
    expect(report.peaks.fmaGflops).toBeGreaterThan(0);
    expect(report.peaks.fmaMedianGflops).toHaveLength(2); // the median trial at the start and at the end
    for (const g of report.peaks.fmaMedianGflops) {
      expect(g).toBeGreaterThan(0);
      expect(g).toBeLessThanOrEqual(report.peaks.fmaGflops);
    }
    expect(report.peaks.readGBps).toBeGreaterThan(0);
    for (const r of report.results) {
      expect(r.flops).toBeGreaterThan(0);
      const ok = r.cases.filter((c) => c.status === 'ok');
      for (const peer of ['mha-native', 'reference', 'onnxruntime']) expect(ok.some((c) => c.peer === peer)).toBe(true);
      for (const c of ok) {
        expect(c.stats!.n).toBeGreaterThan(0);
        expect(c.stats!.min).toBeGreaterThan(0);
        expect(c.stats!.q1).toBeLessThanOrEqual(c.stats!.median);
        expect(c.stats!.median).toBeLessThanOrEqual(c.stats!.q3);
      }
      // every output was checked: peers against mha-native, mha-native against the reference
      for (const c of ok) expect(c.relL2).toBeLessThan(1e-4);
    }
    const t1 = report.results[0].cases;
    expect(t1.map((c) => c.id)).toEqual(expect.arrayContaining(
      ['native-forward', 'native-unfused', 'native-async', 'reference', 'ort-attention', 'ort-mha', 'ort-plain']));
    // the attention alone, fused and in three passes, checked against each other on T1's mask
    for (const id of ['native-attn-fused', 'native-attn-3pass']) {
      const c = t1.find((x) => x.id === id)!;
      expect(c.status).toBe('ok');
      expect(c.checkedAgainst).toMatch(/^mha-native attention alone, (fused|three passes)$/);
    }
    for (const c of t1.filter((x) => x.status === 'ok' && x.peer !== 'pytorch')) {
      expect(c.peakRssGrowthBytes).toBeGreaterThanOrEqual(0); // T1 stands in for W2's memory column
    }
    expect(report.results[1].cases.map((c) => c.id)).toEqual(
      expect.arrayContaining(['native-sdpa', 'native-layer-kvcache', 'ort-mha4d', 'ort-mhapast', 'ort-plain']));
    expect(report.results[2].cases.map((c) => c.id)).toEqual(
      expect.arrayContaining(['native-matmul-out', 'native-matmul', 'ort-matmul', 'openblas', 'openblas-forced']));
    // the batched product: 2·batch·M·N·K FLOPs; OpenBLAS as a loop and split over threads
    expect(report.results[3].flops).toBe(2 * 3 * 5 * 7 * 4);
    expect(report.results[3].cases.map((c) => c.id)).toEqual(expect.arrayContaining(
      ['native-matmul-out', 'native-matmul', 'reference', 'ort-matmul', 'openblas', 'openblas-forced', 'openblas-split', 'openblas-split-forced']));
    expect(report.results[3].cases.find((c) => c.id === 'ort-matmul')!.variant).toBe('MatMul, rank 3');
  });

  it('times mha-native and OpenBLAS (widest kernels) paired on the GEMM workloads', () => {
    const md = fs.readFileSync(path.join(out, `${stem}.md`), 'utf8');
    for (const r of report.results.slice(2)) { // TG, TB
      for (const c of r.cases.filter((x) => x.peer === 'openblas')) {
        if (c.status !== 'ok') { // the probe did not compile: no libopenblas here (CI installs it)
          expect(c.status).toBe('missing');
          expect(c.paired).toBeUndefined();
          continue;
        }
        if (!c.id.endsWith('-forced')) { // the auto-detected core (Prescott on new Xeons) is not paired
          expect(c.paired).toBeUndefined();
          continue;
        }
        expect(c.paired!.against).toBe('mha-native matmul into options.out');
        expect(c.paired!.ratio.n).toBeGreaterThanOrEqual(1);
        expect(c.paired!.ratio.median).toBeGreaterThan(0);
        expect(c.paired!.ratio.q1).toBeLessThanOrEqual(c.paired!.ratio.median);
        expect(md).toContain(`Paired: openblas: ${c.variant} against mha-native matmul into options.out, ${c.paired!.ratio.n} pairs`);
      }
    }
    expect(md).toContain('| vs ORT, paired | vs OpenBLAS, paired |');
  });

  it('times the best ONNX Runtime variant and the unfused paths paired with their counterparts', () => {
    const md = fs.readFileSync(path.join(out, `${stem}.md`), 'utf8');
    const t1 = report.results[0].cases;
    const byId = (id: string) => t1.find((c) => c.id === id)!;
    const pairs: [string, string][] = [['native-unfused', 'mha-native forward (fused)'],
      ['native-attn-3pass', 'mha-native attention alone: scaledDotProductAttention (fused)']];
    for (const [id, against] of pairs) {
      expect(byId(id).paired!.against).toBe(against);
      expect(byId(id).paired!.ratio.n).toBeGreaterThanOrEqual(1);
    }
    for (const r of report.results) { // one round here: the best round median is paired, and only that variant
      const ort = r.cases.filter((c) => c.peer === 'onnxruntime' && c.status === 'ok');
      const best = ort.sort((a, b) => a.stats!.median - b.stats!.median)[0];
      for (const c of ort) expect(c.paired !== undefined).toBe(c === best);
      expect(best.paired!.against).toMatch(/^mha-native /);
      expect(best.paired!.ratio.median).toBeGreaterThan(0);
      expect(md).toContain(`Paired: onnxruntime: ${best.variant} against ${best.paired!.against}, ${best.paired!.ratio.n} pairs`);
    }
  });

  it('reports a missing peer as missing, with the reason', () => {
    for (const r of report.results) {
      const torch = r.cases.find((c) => c.peer === 'pytorch')!;
      expect(torch.status).toBe('missing');
      expect(torch.reason).toMatch(/^not installed/);
    }
  });

  it('prints the table and writes a Markdown report holding every row', () => {
    const md = fs.readFileSync(path.join(out, `${stem}.md`), 'utf8');
    // a subset run is named after the subset and leaves latest.* (the full run's report) alone
    expect(stem).toMatch(/-tiny$/);
    expect(fs.existsSync(path.join(out, 'latest.md'))).toBe(false);
    expect(stdout).toContain(`Wrote ${path.join(out, stem)}.{json,md,svg}\n`);
    expect(md).toMatch(/^# mha-native benchmark/);
    expect(md).toContain('Measured peaks');
    for (const r of report.results) {
      expect(md).toContain(`## ${r.id} `);
      expect(stdout).toMatch(new RegExp(`^${r.id} `, 'm'));
      for (const c of r.cases) expect(md).toContain(`| ${c.peer}: ${c.variant}`);
    }
    const tableRows = md.split('\n').filter((l) => /^\| (mha-native|reference|onnxruntime|pytorch|openblas):/.test(l));
    expect(tableRows).toHaveLength(report.rows.length);
    expect(report.rows.filter((row) => row.gflops !== undefined).every((row) => row.pctPeak! > 0)).toBe(true);
  });

  it('writes a well-formed SVG chart with a bar per measured backend and the peak line', () => {
    const svg = fs.readFileSync(path.join(out, `${stem}.svg`), 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(tagsBalanced(svg)).toBe(true);
    expect(svg).toContain('measured FMA peak');
    const bars = svg.match(/<rect [^>]*fill="#[0-9a-f]{6}"><title>/g) ?? [];
    expect(bars.length).toBeGreaterThanOrEqual(report.results.length * 2);
    for (const r of report.results) expect(svg).toContain(`>${r.id}</text>`);
  });
});

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

// The harness run above has no python; here the PyTorch peer runs the batched workload itself
// (torch.bmm), where torch is installed, checked against the TypeScript reference's matmul.
describe.skipIf(!hasTorch)('bench PyTorch peer on a batched gemm (TB)', () => {
  const w = WORKLOADS.TB;
  const inputs = makeInputs(w);
  let dir = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mha-bench-torch-'));
    writeInputs(dir, inputs);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function withPeer(threads: number, use: (peer: ReturnType<typeof torchCases>[number]) => Promise<void>) {
    const [peer] = torchCases(w, inputs, { threads, python: PYTHON, dir, probes: { isa: 'avx2' } });
    try {
      await peer.setup();
      await use(peer);
    } finally {
      await peer.close();
    }
  }

  it('computes the batched product', () => withPeer(2, async (peer) => {
    expect(peer.variant).toMatch(/^torch\.bmm/);
    const got = await peer.check();
    const want = reference.matmul(inputs.a, inputs.b);
    expect(want.shape).toEqual([3, 5, 7]);
    expect(got.length).toBe(want.data.length);
    let diff = 0, norm = 0;
    want.data.forEach((x, i) => { diff += (got[i] - x) ** 2; norm += x ** 2; });
    expect(Math.sqrt(diff / norm)).toBeLessThan(1e-5);
  }));

  // torch.set_num_threads does not size OpenBLAS's own pool, which would start a thread per
  // core: a `--threads 1` run must leave the python process one thread.
  it('runs on one thread when given one, OpenBLAS included', () => withPeer(1, async (peer) => {
    const [pid] = peer.pid();
    expect(fs.readdirSync(`/proc/${pid}/task`)).toHaveLength(1);
  }));
});
