// The benchmark harness end to end on the tiny workloads (one layer, one decode step, one
// SGEMM, one batched SGEMM, a ragged batch, a grouped-query decode step, a sliding window, and a
// causal and a cross-attention layer with reduced-precision rows) into a temp dir: the JSON,
// Markdown and SVG it writes are well-formed and hold every row. No speed is asserted. PyTorch is pointed at a python that does not exist, so the run needs no python and
// shows that a missing peer is reported, not dropped; the PyTorch peer's batched path is run on
// its own below, where torch is installed. The ONNX Runtime peers of the new workloads are also
// checked against a float64 evaluation of API.md's definitions, so that their graphs (RoPE
// positions and layout, the grouped heads, the window's bounds) do not merely agree with each
// other. Rows that need an API.md feature the built package lacks must say so (missing). The
// int8 graphs are checked against a float64 simulation of the quantized computation, and the
// float64 expectation of the reduced-precision workloads against this file's evaluation (and
// PyTorch's, where torch is installed).
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jsOutputs, torchOutputs } from '../bench/float64.mjs';
import { INT8_GROUP, ortCases } from '../bench/peers/ort.mjs';
import { lackedFeature } from '../bench/peers/ours.mjs';
import { quantizeWeight } from '../bench/quantize.mjs';
import { torchCases } from '../bench/peers/torch.mjs';
import {
  attentionWorkCount, decodeLengths, kvDim, makeInputs, raggedDecodeWorkCount, workCount, WORKLOADS, writeInputs,
} from '../bench/workloads.mjs';
import { reference } from '../lib/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Paired { against: string; burstSeconds: number; ratio: { n: number; median: number; q1: number; q3: number } }
interface Case {
  id: string; peer: string; baseline?: boolean; variant: string; group?: string; precision?: string; status: string; reason?: string;
  untimed?: boolean; relL2?: number; checkedAgainst?: string; relL2f64?: number; float64Label?: string; bytes?: number;
  stats?: { n: number; median: number; q1: number; q3: number; min: number; max: number };
  peakRssGrowthBytes?: number;
  paired?: Paired;
  pairedOrt?: (Paired & { group?: string; precision?: string })[];
}
interface Report {
  meta: { threads: number; profile: { name: string } };
  peaks: { fmaGflops: number; fmaMedianGflops: number[]; readGBps: number };
  results: {
    id: string; flops: number; bytes: number; tokens?: number; float64?: Record<string, string>; cases: Case[];
    readProbe?: { variant: string; bytes: number; paired: Paired };
  }[];
  rows: { workload: string; peer: string; variant: string; status: string; gflops?: number; pctPeak?: number; tokensPerSec?: number; gbps?: number }[];
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
    // nine workloads, each in its own process, on a machine other builds share
    ({ stdout } = await promisify(execFile)(process.execPath, args, { cwd: root, timeout: 230_000 }));
    const json = fs.readdirSync(out).find((f) => f.endsWith('.json'));
    expect(json).toBeDefined();
    stem = json!.slice(0, -'.json'.length);
    report = JSON.parse(fs.readFileSync(path.join(out, json!), 'utf8'));
  }, 240_000);
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  const result = (id: string) => report.results.find((r) => r.id === id)!;

  it('measures every tiny workload with mha-native, the reference and every ONNX Runtime variant', () => {
    expect(report.results.map((r) => r.id)).toEqual(['T1', 'T3', 'TG', 'TB', 'T6', 'T7', 'T2w', 'T2', 'T5']);
    expect(report.meta.threads).toBe(2);
    expect(report.peaks.fmaGflops).toBeGreaterThan(0);
    expect(report.peaks.fmaMedianGflops).toHaveLength(2); // the median trial at the start and at the end
    for (const g of report.peaks.fmaMedianGflops) {
      expect(g).toBeGreaterThan(0);
      expect(g).toBeLessThanOrEqual(report.peaks.fmaGflops);
    }
    expect(report.peaks.readGBps).toBeGreaterThan(0);
    for (const r of report.results.slice(0, 4)) { // the new kinds are checked below
      expect(r.flops).toBeGreaterThan(0);
      const ok = r.cases.filter((c) => c.status === 'ok');
      for (const peer of ['mha-native', 'reference', 'onnxruntime']) expect(ok.some((c) => c.peer === peer)).toBe(true);
      for (const c of ok.filter((x) => !x.untimed)) { // the untimed rows: below
        expect(c.stats!.n).toBeGreaterThan(0);
        expect(c.stats!.min).toBeGreaterThan(0);
        expect(c.stats!.q1).toBeLessThanOrEqual(c.stats!.median);
        expect(c.stats!.median).toBeLessThanOrEqual(c.stats!.q3);
      }
      // every output was checked: peers against mha-native, mha-native against the reference
      // (the reduced-precision rows against their own bounds, below)
      for (const c of ok.filter((x) => !x.precision)) expect(c.relL2).toBeLessThan(1e-4);
    }
    const t1 = report.results[0].cases;
    expect(t1.map((c) => c.id)).toEqual(expect.arrayContaining(
      ['native-forward-out', 'native-forward', 'native-unfused', 'native-async', 'reference', 'ort-attention', 'ort-mha', 'ort-plain']));
    // the attention alone, fused and in three passes, checked against each other on T1's mask
    for (const id of ['native-attn-fused', 'native-attn-3pass']) {
      const c = t1.find((x) => x.id === id)!;
      expect(c.status).toBe('ok');
      expect(c.checkedAgainst).toMatch(/^mha-native attention alone, (fused|three passes)$/);
    }
    for (const c of t1.filter((x) => x.status === 'ok' && x.peer !== 'pytorch')) { // T1 stands in for W2's memory column
      if (c.untimed) expect(c.peakRssGrowthBytes).toBeUndefined(); // one call for its output, nothing more
      else expect(c.peakRssGrowthBytes).toBeGreaterThanOrEqual(0);
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
    const pairs: [string, string][] = [['native-forward', 'mha-native forward (fused) into options.out'],
      ['native-unfused', 'mha-native forward (fused), new result array'],
      ['native-attn-3pass', 'mha-native attention alone: scaledDotProductAttention (fused)']];
    for (const [id, against] of pairs) {
      expect(byId(id).paired!.against).toBe(against);
      expect(byId(id).paired!.ratio.n).toBeGreaterThanOrEqual(1);
    }
    for (const r of report.results) { // one round here: each group's best round median is paired, and only that variant
      const ort = r.cases.filter((c) => c.peer === 'onnxruntime' && c.status === 'ok');
      // paired against the baseline; without it (a build lacking a feature) against the padded
      // forward on T6, and on T7 and T2w not at all (no mha-native row computes their output)
      if (!r.cases.some((c) => c.baseline && c.status === 'ok') && r.id !== 'T6') {
        expect(ort.every((c) => c.paired === undefined)).toBe(true);
        continue;
      }
      const groups = [...new Set(ort.map((c) => c.group))];
      // W6's ORT runs padded, and one request at a time; the int8 graphs are a group of their own
      expect(groups.length).toBe(r.id === 'T6' || WORKLOADS[r.id].reduced?.int8 ? 2 : 1);
      for (const group of groups) {
        const inGroup = ort.filter((c) => c.group === group);
        const best = inGroup.sort((a, b) => a.stats!.median - b.stats!.median)[0];
        for (const c of inGroup) expect(c.paired !== undefined).toBe(c === best);
        expect(best.paired!.against).toMatch(/^mha-native /);
        expect(best.paired!.ratio.median).toBeGreaterThan(0);
        expect(md).toContain(`Paired: onnxruntime: ${best.variant} against ${best.paired!.against}, ${best.paired!.ratio.n} pairs`);
        expect(md).toContain(`onnxruntime: ${best.variant} [ORT best${group ? `, ${group}` : ''}]`);
      }
    }
  });

  describe('the new kinds: ragged (T6), grouped-query decode (T7), sliding window (T2w)', () => {
    let lib: Record<string, unknown>;
    const has = (backend: string, ...features: string[]) => lackedFeature(lib, backend, features) === undefined;
    beforeAll(async () => {
      lib = await import(path.join(root, 'dist', 'index.js'));
    });
    const byId = (id: string, caseId: string) => result(id).cases.find((c) => c.id === caseId)!;
    /** ok where the build has the features, else missing saying which API.md section it lacks. */
    function runsWith(c: Case, available: boolean) {
      if (available) {
        expect(c.status).toBe('ok');
        expect(c.relL2).toBeLessThan(1e-4);
      } else {
        expect(c.status).toBe('missing');
        expect(c.reason).toMatch(/^this build of mha-native has no .*\(API\.md "[^"]+"\)/);
      }
    }

    it('T6: packed, padded, each request, and the continuous-batching decode step, over real tokens', () => {
      const w = WORKLOADS.T6, T = 16;
      expect(result('T6').tokens).toBe(T);
      expect(result('T6').flops).toBe(2 * 4 * T * 32 * 32 + 4 * 32 * (49 + 25 + 9 + 1));
      const packed = has('native', 'sequenceLengths');
      runsWith(byId('T6', 'native-packed'), packed);
      runsWith(byId('T6', 'native-decode-packed'), packed && has('native', 'perSequenceCache'));
      const checkedAgainst = packed ? 'mha-native forward, packed (sequenceLengths)' : 'mha-native forward, padded to 7 with a key padding mask';
      for (const id of ['native-padded', 'reference', 'ort-attention-padded', 'ort-mha-padded', 'ort-plain-padded',
        'ort-attention-each', 'ort-mha-each', 'ort-plain-each']) {
        const c = byId('T6', id);
        expect(c.status).toBe('ok');
        expect(c.relL2).toBeLessThan(1e-4);
        // before the packed path exists, the padded row is the one the others are checked against
        expect(c.checkedAgainst).toBe(id === 'native-padded' && !packed
          ? "reference forward (backend 'reference'), one request at a time" : checkedAgainst);
      }
      expect(byId('T6', 'ort-mha-padded').group).toBe('padded');
      expect(byId('T6', 'ort-mha-each').group).toBe('one request at a time');
      const decode = byId('T6', 'native-decode-padded');
      expect(decode.status).toBe('ok');
      expect(decode.checkedAgainst).toBe('mha-native forward without a cache, per sequence');
      expect(decode.relL2).toBeLessThan(1e-4);
      expect(decodeLengths(w)).toEqual([2, 5, 8]);
      // packed is paired against our padded and each ORT group's best; before the packed path
      // exists, ORT's groups are paired against our padded row
      const padded = byId('T6', 'native-padded');
      if (packed) expect(padded.paired!.against).toBe('mha-native forward, packed (sequenceLengths)');
      const rows = report.rows.filter((r) => r.workload === 'T6' && r.status === 'ok');
      for (const row of rows) expect(row.tokensPerSec).toBeGreaterThan(0);
      expect(rows.find((r) => r.variant.startsWith('decode step padded'))!.gbps).toBeGreaterThan(0);
      expect(raggedDecodeWorkCount(w)).toEqual({ flops: 2 * 4 * 3 * 32 * 32 + 4 * 32 * 18, bytes: 2 * 32 * 18 * 4,
        bytesLabel: 'K+V read per step', tokens: 3 });
    });

    it('T7: the grouped-query decode step, ORT fetching present K/V and not, plain ops', () => {
      const w = WORKLOADS.T7, D = 16, kv = kvDim(w);
      expect(kv).toBe(2 * D);
      expect(result('T7').bytes).toBe(4 * (2 * 64 * 64 + 2 * kv * 64) + 2 * 2 * 17 * kv * 4);
      expect(result('T7').tokens).toBe(2);
      runsWith(byId('T7', 'native-gqa-step'), has('native', 'numKvHeads', 'rotary'));
      for (const id of ['ort-gqa-present', 'ort-gqa', 'ort-gqa-plain']) {
        const c = byId('T7', id);
        expect(c.status).toBe('ok');
        expect(c.stats!.median).toBeGreaterThan(0);
      }
      const ref = byId('T7', 'reference');
      if (!has('reference', 'numKvHeads', 'rotary')) expect(ref.status).toBe('missing');
      expect(report.rows.find((r) => r.workload === 'T7' && r.variant.includes('output only'))!.gbps).toBeGreaterThan(0);
    });

    it('T2w: the windowed forward next to full causal, ORT GroupQueryAttention and a band mask', () => {
      const w = WORKLOADS.T2w;
      runsWith(byId('T2w', 'native-window'), has('native', 'window'));
      const full = byId('T2w', 'native-full');
      expect(full.status).toBe('ok');
      expect(full.checkedAgainst).toBe('mha-native forward needWeights (unfused), full causal');
      for (const id of ['ort-gqa-window', 'ort-plain']) expect(byId('T2w', id).status).toBe('ok');
      // the band: query i sees keys max(0, i - 5) ..= i
      let keys = 0;
      for (let i = 0; i < 24; i++) keys += Math.min(i, 5) + 1;
      expect(attentionWorkCount(w).flops).toBe(4 * 32 * keys);
      expect(result('T2w').flops).toBe(workCount({ ...w, window: undefined }).flops - attentionWorkCount({ ...w, window: undefined }).flops
        + 4 * 32 * keys);
      if (has('native', 'window')) expect(full.paired!.against).toBe('mha-native forward, window 5 keys back (causal)');
    });
  });

  describe('reduced precision: bfloat16 layers, 16-bit caches, ORT int8, errors against float64', () => {
    let lib: Record<string, unknown>;
    const has = (...features: string[]) => lackedFeature(lib, 'native', features) === undefined;
    beforeAll(async () => {
      lib = await import(path.join(root, 'dist', 'index.js'));
    });
    const byId = (id: string, caseId: string) => result(id).cases.find((c) => c.id === caseId)!;
    /** ok within API.md's bound for its precision where the build has the features, else missing
     * saying it needs API.md "Reduced precision". */
    function runsWithin(c: Case, available: boolean, bound: number) {
      if (!available) {
        expect(c.status).toBe('missing');
        expect(c.reason).toMatch(/^this build of mha-native has no .*\(API\.md "Reduced precision"\)$/);
        return;
      }
      expect(c.status).toBe('ok');
      expect(c.relL2).toBeLessThanOrEqual(bound);
      expect(c.relL2f64).toBeLessThanOrEqual(bound);
    }

    it('gives every row of a reduced-precision workload its error against float64 (JavaScript here: no python)', () => {
      for (const id of ['T1', 'T2', 'T5', 'T3', 'T7']) {
        const r = result(id);
        expect(Object.keys(r.float64!)).toEqual(id === 'T3' ? ['output', 'layerStep'] : ['output']);
        for (const label of Object.values(r.float64!)) expect(label).toBe('JavaScript float64 evaluation (bench/float64.mjs)');
        for (const c of r.cases.filter((x) => x.status === 'ok' && !x.id.startsWith('native-attn'))) {
          expect(c.float64Label, `${id} ${c.id}`).toBe(r.float64![c.id.startsWith('native-layer-kvcache') ? 'layerStep' : 'output']);
          // float32 rows within API.md's 2e-5 (the reference accumulates in float64); int8 rows coarser
          if (c.precision === 'int8') {
            expect(c.relL2f64).toBeGreaterThan(1e-4);
            expect(c.relL2f64).toBeLessThan(5e-2);
          } else if (!c.precision) {
            expect(c.relL2f64, `${id} ${c.id}`).toBeLessThan(2e-5);
          }
        }
      }
      for (const id of ['TG', 'T6', 'T2w']) expect(result(id).float64).toBeUndefined();
    });

    it('runs ONNX Runtime\'s int8 graphs as a group of their own, QAttention on self-attention only', () => {
      for (const id of ['T1', 'T2', 'T5']) {
        const int8 = result(id).cases.filter((c) => c.precision === 'int8');
        expect(int8.map((c) => c.id).sort()).toEqual(['ort-q8-attention-column', 'ort-q8-attention-tensor', 'ort-q8-mha-column',
          'ort-q8-mha-tensor']);
        for (const c of int8) {
          expect(c.group).toBe(INT8_GROUP);
          if (id === 'T5' && c.id.includes('attention')) {
            expect(c.status).toBe('n/a');
            continue;
          }
          expect(c.status).toBe('ok');
          expect(c.relL2).toBeLessThan(5e-2); // against mha-native's float32 output
        }
        // "ORT best" stays float32's; the int8 group's best is marked on its own
        const md = fs.readFileSync(path.join(out, `${stem}.md`), 'utf8');
        const best = int8.filter((c) => c.status === 'ok').sort((a, b) => a.stats!.median - b.stats!.median)[0];
        expect(md).toContain(`onnxruntime: ${best.variant} [ORT best, ${INT8_GROUP}]`);
      }
    });

    it('layers with dtype bfloat16, paired with float32 and with ORT\'s float32 and int8 bests', () => {
      const available = has('bfloat16');
      for (const id of ['T1', 'T2', 'T5']) {
        const c = byId(id, 'native-forward-out-bf16');
        expect(c.precision).toBe('bfloat16');
        runsWithin(c, available, 1e-2);
        if (!available) continue;
        expect(c.paired!.against).toBe('mha-native forward (fused) into options.out');
        expect(c.pairedOrt!.map((p) => p.precision ?? 'float32').sort()).toEqual(['float32', 'int8']);
      }
    });

    it('the bfloat16 rows\' error floor: the reference in bfloat16 (float64 on the rounded operands), checked, not timed', () => {
      const available = lackedFeature(lib, 'reference', ['bfloat16']) === undefined;
      for (const id of ['T1', 'T2', 'T5']) {
        const floor = byId(id, 'reference-bf16');
        runsWithin(floor, available, 1e-2);
        if (!available) continue;
        expect(floor.untimed).toBe(true);
        expect(floor.stats).toBeUndefined();
        expect(floor.paired).toBeUndefined();
        expect(floor.relL2f64!).toBeGreaterThan(1e-4); // the rounding moved the output
        // the contract: a bfloat16 layer errs at most twice as much as its rounded operands alone
        const native = byId(id, 'native-forward-out-bf16');
        if (native.status === 'ok') expect(native.relL2f64!).toBeLessThanOrEqual(2 * floor.relL2f64!);
      }
      for (const id of ['T3', 'T7']) expect(result(id).cases.some((c) => c.id === 'reference-bf16')).toBe(false);
    });

    it('decode steps through 16-bit caches, paired with the float32 cache', () => {
      for (const [dtype, bound] of [['float16', 1e-3], ['bfloat16', 1e-2]] as const) {
        const c = byId('T3', `native-layer-kvcache-${dtype}`);
        expect(c.precision).toBe(`${dtype} KV cache`);
        runsWithin(c, has(`${dtype}Cache`), bound);
        if (c.status === 'ok') expect(c.paired!.against).toBe('mha-native layer forward with kvCache (q/out projections + attention)');
      }
      const step16 = byId('T7', 'native-gqa-step-float16');
      runsWithin(step16, has('numKvHeads', 'rotary', 'float16Cache'), 1e-3);
      runsWithin(byId('T7', 'native-gqa-step-bfloat16'), has('numKvHeads', 'rotary', 'bfloat16', 'float16Cache'), 1e-2);
      // GB/s of the 16-bit steps count the bytes they read: the float32 weights, half the K/V bytes
      const { B, S, E } = WORKLOADS.T7, kv = kvDim(WORKLOADS.T7);
      expect(step16.bytes).toBe(4 * (2 * E * E + 2 * kv * E) + 2 * B * (S + 1) * kv * 2);
    });

    it('writes the reduced-precision section: each row against its float32, ORT\'s bests, and the errors', () => {
      const md = fs.readFileSync(path.join(out, `${stem}.md`), 'utf8');
      const section = md.slice(md.indexOf('## Reduced precision'), md.indexOf('## T1 '));
      expect(section).toContain('| workload | mha-native row | median ms | vs its float32, paired | vs ORT float32 best, paired '
        + '| vs ORT int8 best, paired | rel L2 vs float64 | the rounded operands alone: rel L2 vs float64 '
        + '| ORT int8 best: rel L2 vs float64 | error / ORT int8\'s | status |');
      const floor = result('T1').cases.find((c) => c.id === 'reference-bf16')!;
      if (floor.status === 'ok') {
        expect(section).toMatch(new RegExp(`\\| T1 \\| forward \\(fused\\) into options\\.out, dtype bfloat16 \\|( [^|]* \\|){5} `
          + `${floor.relL2f64!.toExponential(1).replace('+', '\\+')} \\|`));
      }
      for (const id of ['T1', 'T2', 'T5']) expect(section).toContain(`| ${id} | forward (fused) into options.out, dtype bfloat16 |`);
      for (const dtype of ['float16', 'bfloat16']) expect(section).toContain(`| T3 | layer forward with a ${dtype} kvCache`);
      expect(section).toContain('- T3 layerStep: JavaScript float64 evaluation (bench/float64.mjs)');
      expect(md).toContain('| rel L2 | rel L2 vs float64 | status |');
    });
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

  it('times the memory-bound workloads (T3, T7) paired against the read probe and reports their share of its rate', () => {
    for (const id of ['T3', 'T7']) {
      const probe = result(id).readProbe!;
      expect(probe.bytes).toBe(64 * 2 ** 20); // one pass over the run's --read-mib
      expect(probe.paired.against).toMatch(/^mha-native /);
      expect(probe.paired.ratio.n).toBeGreaterThan(0);
      expect(probe.paired.ratio.median).toBeGreaterThan(0);
    }
    expect(result('T1').readProbe).toBeUndefined(); // bound by arithmetic: no bytes, no pairing
    const md = fs.readFileSync(path.join(out, `${stem}.md`), 'utf8');
    for (const id of ['T3', 'T7']) expect(md).toMatch(new RegExp(`^\\| ${id} \\|[^\\n]*% BW; \\d+% paired\\)`, 'm'));
    expect(md).toMatch(/^Paired: the read probe \(streaming read of 64 MiB, 2 threads, each burst's median pass\) against mha-native .*: the call read its [\d.]+ MiB at \d+% of the probe's rate \(IQR \d+–\d+%\)\.$/m);
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

/** Float64 evaluation of API.md's attention layer, for the ONNX Runtime peers' graphs. */
const f64 = {
  /** x [rows, inDim] times w^T (w [outDim, inDim], torch.nn.Linear) plus b. */
  project(x: ArrayLike<number>, rows: number, inDim: number, w: Float32Array, outDim: number, b?: Float32Array) {
    const out = new Float64Array(rows * outDim);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < outDim; o++) {
        let s = b ? b[o] : 0;
        for (let i = 0; i < inDim; i++) s += x[r * inDim + i] * w[o * inDim + i];
        out[r * outDim + o] = s;
      }
    }
    return out;
  },
  /** RoPE in place on rows [rows, heads * D], row r at position pos(r): pairs (x[i], x[i + D/2]). */
  rope(t: Float64Array, rows: number, heads: number, D: number, pos: (r: number) => number, base: number) {
    for (let r = 0; r < rows; r++) {
      for (let h = 0; h < heads; h++) {
        for (let i = 0; i < D / 2; i++) {
          const a = pos(r) * base ** (-2 * i / D), at = r * heads * D + h * D + i;
          const [x1, x2] = [t[at], t[at + D / 2]];
          t[at] = x1 * Math.cos(a) - x2 * Math.sin(a);
          t[at + D / 2] = x2 * Math.cos(a) + x1 * Math.sin(a);
        }
      }
    }
  },
  /** q [Lq, H*D] against k/v [Lk, Hkv*D]: query head h uses key/value head floor(h / (H / Hkv)). */
  attend(q: Float64Array, k: Float64Array, v: Float64Array, Lq: number, Lk: number, H: number, Hkv: number, D: number,
    visible: (i: number, j: number) => boolean) {
    const out = new Float64Array(Lq * H * D);
    for (let i = 0; i < Lq; i++) {
      for (let h = 0; h < H; h++) {
        const g = Math.floor(h / (H / Hkv)), scores: number[] = [], keys: number[] = [];
        for (let j = 0; j < Lk; j++) {
          if (!visible(i, j)) continue;
          let s = 0;
          for (let d = 0; d < D; d++) s += q[i * H * D + h * D + d] * k[j * Hkv * D + g * D + d];
          scores.push(s / Math.sqrt(D));
          keys.push(j);
        }
        const m = Math.max(...scores), e = scores.map((s) => Math.exp(s - m)), z = e.reduce((a, b) => a + b, 0);
        keys.forEach((j, n) => {
          for (let d = 0; d < D; d++) out[i * H * D + h * D + d] += (e[n] / z) * v[j * Hkv * D + g * D + d];
        });
      }
    }
    return out;
  },
};

function relL2(out: ArrayLike<number>, ref: ArrayLike<number>) {
  let num = 0, den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (out[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return Math.sqrt(num / den);
}

type Inputs = ReturnType<typeof makeInputs>;
/** A self-attention layer with biases over x [L, E] (W6's requests, W2w), keys visible(i, j). */
function layer64(inputs: Inputs, x: Float32Array, L: number, E: number, H: number, visible: (i: number, j: number) => boolean) {
  const p = (w: string, b: string) => f64.project(x, L, E, inputs[w].data as Float32Array, E, inputs[b].data as Float32Array);
  const ctx = f64.attend(p('qWeight', 'qBias'), p('kWeight', 'kBias'), p('vWeight', 'vBias'), L, L, H, H, E / H, visible);
  return f64.project(ctx, L, E, inputs.outWeight.data as Float32Array, E, inputs.outBias.data as Float32Array);
}

/** W6, W7 and W2w's float64 outputs, from their definitions (tiny sizes only). */
const EXPECTED: Record<string, (inputs: Inputs) => Float64Array> = {
  T6(inputs) {
    const { E, H, lengths } = WORKLOADS.T6;
    const parts: Float64Array[] = [];
    let at = 0;
    for (const len of lengths) {
      parts.push(layer64(inputs, (inputs.tokens.data as Float32Array).subarray(at * E, (at + len) * E), len, E, H, () => true));
      at += len;
    }
    return Float64Array.from(parts.flatMap((a) => [...a]));
  },
  T7(inputs) {
    const { B, S, E, H, kvHeads: Hkv, ropeBase } = WORKLOADS.T7, D = E / H, kv = kvDim(WORKLOADS.T7);
    const out = new Float64Array(B * E);
    for (let b = 0; b < B; b++) {
      const xs = new Float32Array((S + 1) * E);
      xs.set((inputs.prompt.data as Float32Array).subarray(b * S * E, (b + 1) * S * E));
      xs.set((inputs.token.data as Float32Array).subarray(b * E, (b + 1) * E), S * E);
      const k = f64.project(xs, S + 1, E, inputs.kWeight.data as Float32Array, kv);
      const v = f64.project(xs, S + 1, E, inputs.vWeight.data as Float32Array, kv);
      const q = f64.project(xs.subarray(S * E), 1, E, inputs.qWeight.data as Float32Array, E);
      f64.rope(k, S + 1, Hkv, D, (r) => r, ropeBase);
      f64.rope(q, 1, H, D, () => S, ropeBase);
      const ctx = f64.attend(q, k, v, 1, S + 1, H, Hkv, D, () => true);
      out.set(f64.project(ctx, 1, E, inputs.outWeight.data as Float32Array, E), b * E);
    }
    return out;
  },
  T2w(inputs) {
    const { L, E, H, window } = WORKLOADS.T2w;
    return layer64(inputs, inputs.query.data as Float32Array, L, E, H, (i, j) => j <= i && j >= i - window!.left!);
  },
};

describe('the ONNX Runtime peers of W6, W7 and W2w compute API.md\'s definitions (float64, tiny sizes)', () => {
  for (const id of Object.keys(EXPECTED)) {
    it(`${id}: every ORT variant within 1e-5 of float64`, async () => {
      const inputs = makeInputs(WORKLOADS[id]);
      const want = EXPECTED[id](inputs);
      const cases = ortCases(WORKLOADS[id], inputs, { threads: 2, modelsDir: path.join(root, 'bench', 'models') });
      expect(cases.length).toBeGreaterThanOrEqual(2);
      for (const c of cases) {
        await c.setup();
        const got = await c.check();
        expect(got.length, c.variant).toBe(want.length);
        expect(relL2(got, want), c.variant).toBeLessThan(1e-5);
      }
    });
  }
});

describe('the int8 weights are quantized as onnxruntime\'s quantize_dynamic does', () => {
  it('symmetric int8: scale max|w| / 127 (float32), zero point 0, round half to even, per tensor or per column', () => {
    // [2, 3] in [in, out] layout; column 2 has max |w| 127, so its scale is exactly 1 and x.5 ties stay
    const m = Float32Array.of(0.5, -2, 2.5, 0.25, 1, -127);
    const t = quantizeWeight(m, 2, 3, 'tensor');
    expect(t.scale).toEqual(Float32Array.of(1));
    expect(t.zeroPoint).toEqual(Int8Array.of(0));
    expect([...t.q]).toEqual([0, -2, 2, 0, 1, -127]); // 0.5 -> 0, 2.5 -> 2, 0.25 -> 0 (half to even)
    const c = quantizeWeight(m, 2, 3, 'column');
    expect(c.scale).toEqual(Float32Array.of(Math.fround(1 / 254), Math.fround(4 / 254), 1));
    expect(c.zeroPoint).toEqual(new Int8Array(3));
    expect([...c.q]).toEqual([127, -127, 2, 64, 64, -127]); // 0.25 / (0.5/127) = 63.5 -> 64, 1 / (2/127) = 63.5 -> 64
    expect(quantizeWeight(new Float32Array(4), 2, 2, 'tensor').scale).toEqual(Float32Array.of(1)); // all zero: scale 1
  });
});

/** ONNX DynamicQuantizeLinear (the graphs' input quantization, also inside DynamicQuantizeMatMul)
 * applied and undone: uint8, the range widened to hold 0, scale (max - min) / 255, round half to even. */
function dynamicQuantizeDequantize(x: ArrayLike<number>) {
  const half = (v: number) => { const r = Math.round(v); return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r; };
  let lo = 0, hi = 0;
  for (let i = 0; i < x.length; i++) { lo = Math.min(lo, x[i]); hi = Math.max(hi, x[i]); }
  const scale = Math.fround((hi - lo) / 255), zp = Math.min(255, Math.max(0, half(-lo / scale)));
  return Float64Array.from(x, (v) => (Math.min(255, Math.max(0, half(Math.fround(v / scale)) + zp)) - zp) * scale);
}

/** The int8 graph's function in float64: the quantized weights (the typed arrays the peer writes),
 * inputs quantized and dequantized as the graph does, float64 products and attention. */
function int8Layer64(w: typeof WORKLOADS[string], inputs: Inputs, init: Record<string, Int8Array | Float32Array>, qattention: boolean) {
  const { B, L, S, E, H } = w, D = E / H;
  const deq = (name: string, n: number) => { // [E, n] int8 -> float64 [n, E] (torch.nn.Linear layout) for f64.project
    const q = init[name], scale = init[`${name}_scale`], out = new Float64Array(n * E);
    for (let k = 0; k < E; k++) for (let j = 0; j < n; j++) out[j * E + k] = q[k * n + j] * scale[scale.length === 1 ? 0 : j];
    return out;
  };
  const x = inputs.query.data as Float32Array, kv = (w.self ? inputs.query : inputs.memory).data as Float32Array;
  const b = init.b_qkv as Float32Array;
  let q: Float64Array, k: Float64Array, v: Float64Array;
  if (qattention) {
    const qkv = f64.project(dynamicQuantizeDequantize(x), B * L, E, deq('w_qkv', 3 * E) as unknown as Float32Array, 3 * E, b);
    const part = (p: number) => Float64Array.from({ length: B * L * E }, (_, i) => qkv[Math.floor(i / E) * 3 * E + p * E + (i % E)]);
    [q, k, v] = [part(0), part(1), part(2)];
  } else {
    const xq = dynamicQuantizeDequantize(x), kvq = w.self ? xq : dynamicQuantizeDequantize(kv);
    q = f64.project(xq, B * L, E, deq('wq', E) as unknown as Float32Array, E, b.subarray(0, E));
    k = f64.project(kvq, B * S, E, deq('wk', E) as unknown as Float32Array, E, b.subarray(E, 2 * E));
    v = f64.project(w.self ? xq : dynamicQuantizeDequantize(kv), B * S, E, deq('wv', E) as unknown as Float32Array, E, b.subarray(2 * E));
  }
  const ctx = new Float64Array(B * L * E), blocked = inputs.keyPaddingMask?.data;
  for (let bb = 0; bb < B; bb++) {
    const visible = (i: number, j: number) => !(blocked && blocked[bb * S + j]) && (w.mask !== 'causal' || j <= i + S - L);
    ctx.set(f64.attend(q.subarray(bb * L * E, (bb + 1) * L * E), k.subarray(bb * S * E, (bb + 1) * S * E),
      v.subarray(bb * S * E, (bb + 1) * S * E), L, S, H, H, D, visible), bb * L * E);
  }
  return f64.project(dynamicQuantizeDequantize(Float32Array.from(ctx)), B * L, E, deq('w_out', E) as unknown as Float32Array, E,
    init.b_out as Float32Array);
}

describe('the int8 graphs compute quantize_dynamic\'s function (float64 simulation, tiny sizes)', () => {
  for (const id of ['T1', 'T2', 'T5']) {
    it(`${id}: each int8 variant within 2e-4 of its quantized computation in float64`, async () => {
      const w = WORKLOADS[id], inputs = makeInputs(w);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mha-bench-q8-test-'));
      try {
        const cases = ortCases(w, inputs, { threads: 2, modelsDir: path.join(root, 'bench', 'models'), dir })
          .filter((c: { precision?: string; inapplicable?: string }) => c.precision === 'int8' && !c.inapplicable);
        expect(cases.length).toBe(w.self ? 4 : 2);
        for (const c of cases) {
          await c.setup();
          const got = await c.check();
          const init: Record<string, Int8Array | Float32Array> = {};
          const data = path.join(dir, `${c.id}-${process.pid}`); // where the case wrote its initializers
          for (const f of fs.readdirSync(data).filter((n) => n.endsWith('.bin'))) {
            const bytes = new Uint8Array(fs.readFileSync(path.join(data, f)));
            const name = f.slice(0, -4);
            init[name] = /^w_?(qkv|q|k|v|out)$|_zero_point$/.test(name) ? new Int8Array(bytes.buffer) : new Float32Array(bytes.buffer);
          }
          const want = int8Layer64(w, inputs, init, c.id.includes('attention'));
          // ORT's attention runs in float32: an activation that lands on the other side of a
          // rounding step moves one uint8 code, far below the quantization error itself
          expect(relL2(got, want), c.variant).toBeLessThan(2e-4);
          c.close();
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('the float64 expectation (bench/float64.mjs) agrees with this file\'s float64 evaluation', () => {
  it('T2 (causal), T1 (key padding, per batch entry), T7 (grouped-query step), T3 (decode step, factored)', () => {
    const t2 = WORKLOADS.T2, in2 = makeInputs(t2);
    expect(relL2(jsOutputs(t2, in2).output.run(), layer64(in2, in2.query.data as Float32Array, t2.L, t2.E, t2.H,
      (i, j) => j <= i))).toBeLessThan(1e-13);
    const t1 = WORKLOADS.T1, in1 = makeInputs(t1), got1 = jsOutputs(t1, in1).output.run();
    for (let b = 0; b < t1.B; b++) {
      const x = (in1.query.data as Float32Array).subarray(b * t1.L * t1.E, (b + 1) * t1.L * t1.E);
      const blocked = in1.keyPaddingMask.data as Uint8Array;
      const want = layer64(in1, x, t1.L, t1.E, t1.H, (_, j) => !blocked[b * t1.S + j]);
      expect(relL2(got1.subarray(b * t1.L * t1.E, (b + 1) * t1.L * t1.E), want)).toBeLessThan(1e-13);
    }
    const in7 = makeInputs(WORKLOADS.T7);
    expect(relL2(jsOutputs(WORKLOADS.T7, in7).output.run(), EXPECTED.T7(in7))).toBeLessThan(1e-13);
    // W3's layer step evaluated without projecting the memory, against the plain evaluation
    const t3 = WORKLOADS.T3, in3 = makeInputs(t3), step = jsOutputs(t3, in3).layerStep.run();
    for (let b = 0; b < t3.B; b++) {
      const q = f64.project((in3.token.data as Float32Array).subarray(b * t3.E, (b + 1) * t3.E), 1, t3.E, in3.qWeight.data as Float32Array,
        t3.E, in3.qBias.data as Float32Array);
      const m = (in3.memory.data as Float32Array).subarray(b * t3.S * t3.E, (b + 1) * t3.S * t3.E);
      const k = f64.project(m, t3.S, t3.E, in3.kWeight.data as Float32Array, t3.E, in3.kBias.data as Float32Array);
      const v = f64.project(m, t3.S, t3.E, in3.vWeight.data as Float32Array, t3.E, in3.vBias.data as Float32Array);
      const want = f64.project(f64.attend(q, k, v, 1, t3.S, t3.H, t3.H, t3.E / t3.H, () => true), 1, t3.E,
        in3.outWeight.data as Float32Array, t3.E, in3.outBias.data as Float32Array);
      expect(relL2(step.subarray(b * t3.E, (b + 1) * t3.E), want)).toBeLessThan(1e-13);
    }
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

// The float64 expectation's PyTorch route (W7's, where the JavaScript one is too slow) against
// the JavaScript route, on the tiny workloads of every kind it serves.
describe.skipIf(!hasTorch)('bench float64 expectation: PyTorch in float64 against the JavaScript evaluation', () => {
  for (const id of ['T1', 'T2', 'T5', 'T3', 'T7']) {
    it(`${id}: the two float64 routes agree`, () => {
      const w = WORKLOADS[id], inputs = makeInputs(w);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mha-bench-f64-'));
      try {
        writeInputs(dir, inputs);
        const torch = torchOutputs(w, { python: PYTHON, dir, threads: 2, isa: 'avx2' });
        expect(torch.reason).toBeUndefined();
        for (const [name, { run }] of Object.entries(jsOutputs(w, inputs))) {
          expect(relL2(run(), torch.outputs[name]), name).toBeLessThan(1e-12);
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }, 60_000);
  }
});
