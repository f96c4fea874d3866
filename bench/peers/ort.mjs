// onnxruntime-node (CPU EP) peer: the graphs of tools/gen-onnx.py, weights fed as inputs (the
// int8 graphs: quantized weights as initializers whose external data is written at load time).
// Sessions run through the addon binding's synchronous run() (the public InferenceSession.run
// is that same call deferred by one setImmediate), so ORT is timed by benchmark.js like ours.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { quantizeWeight } from '../quantize.mjs';
import { timeSync } from '../timing.mjs';
import { kvDim, paddedLength } from '../workloads.mjs';
import { padRequests, realRows } from './ours.mjs';

const require = createRequire(import.meta.url);

function transpose(src, rows, cols) { // [rows, cols] -> [cols, rows]
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
  return out;
}

/** Packs Wq, Wk, Wv ([E,E] each, [out,in]) into the Attention op's [E, 3E] (in, out) weight. */
function packQkv(wq, wk, wv, e) {
  const out = new Float32Array(e * 3 * e);
  [wq, wk, wv].forEach((wt, part) => {
    for (let o = 0; o < e; o++) for (let i = 0; i < e; i++) out[i * 3 * e + part * e + o] = wt[o * e + i];
  });
  return out;
}

function concat(...arrays) {
  const out = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) { out.set(a, at); at += a.length; }
  return out;
}

/** Positions [from, to) of a [B,H,S,D] tensor, as a new [B,H,to-from,D] array. */
function sliceKeys(src, { B, H, S, D }, from, to) {
  const n = to - from;
  const out = new Float32Array(B * H * n * D);
  for (let bh = 0; bh < B * H; bh++) out.set(src.subarray((bh * S + from) * D, (bh * S + to) * D), bh * n * D);
  return out;
}

const f = (T, data, shape) => new T('float32', data, shape);

/** The feeds every layer graph takes besides its input tokens and mask: weights transposed to
 * [in, out] (MatMul), biases (the Attention and MultiHeadAttention ops take them packed [3E]). */
function layerWeightFeeds(T, inputs, E) {
  const t = (name) => f(T, transpose(inputs[name].data, E, E), [E, E]);
  return {
    wq_t: t('qWeight'), wk_t: t('kWeight'), wv_t: t('vWeight'), w_out_t: t('outWeight'), b_out: f(T, inputs.outBias.data, [E]),
    w_qkv: f(T, packQkv(inputs.qWeight.data, inputs.kWeight.data, inputs.vWeight.data, E), [E, 3 * E]),
    b_qkv: f(T, concat(inputs.qBias.data, inputs.kBias.data, inputs.vBias.data), [3 * E]),
    bq: f(T, inputs.qBias.data, [E]), bk: f(T, inputs.kBias.data, [E]), bv: f(T, inputs.vBias.data, [E]),
  };
}

/** The inputs a self-attention layer graph (attention | mha | plain) takes, from the weight feeds,
 * the tokens x and, for the keypad graphs, the key padding mask (nonzero = blocked) [B, S]. */
function selfAttentionFeeds(T, graph, weights, x, blocked) {
  const { wq_t, wk_t, wv_t, w_out_t, b_out, w_qkv, b_qkv, bq, bk, bv } = weights;
  const keep = () => Int32Array.from(blocked.data, (b) => (b ? 0 : 1)); // the ops' masks: 1 = attend
  if (graph === 'attention') {
    return { x, w_qkv, b_qkv, w_out_t, b_out, ...(blocked && { mask_index: new T('int32', keep(), blocked.shape) }) };
  }
  const projections = { query: x, key: x, value: x, wq_t, wk_t, wv_t, w_out_t, b_out };
  if (graph === 'mha') return { ...projections, b_qkv, ...(blocked && { key_padding_mask: new T('int32', keep(), blocked.shape) }) };
  return { ...projections, bq, bk, bv,
    ...(blocked && { blocked: new T('bool', blocked.data, [blocked.shape[0], 1, 1, blocked.shape[1]]) }) };
}

const GRAPH_NAMES = { attention: 'Attention op', mha: 'MultiHeadAttention op', plain: 'plain ONNX ops' };

/** W6: each layer graph run the two ways users would run a ragged batch: padded to the longest
 * request with a key padding mask (one run; the padded rows dropped before the check), and one
 * request at a time without a mask (a run per request). The two are groups: each group's best
 * variant is timed paired against the baseline. */
function raggedVariants(w, inputs) {
  const { E, H, lengths } = w;
  const pad = paddedLength(w), n = lengths.length;
  let padded, weights;
  const shared = (T) => {
    weights ??= layerWeightFeeds(T, inputs, E);
    padded ??= padRequests(inputs.tokens.data, lengths, pad, E);
    return { weights, padded };
  };
  const list = [];
  for (const graph of ['attention', 'mha', 'plain']) {
    list.push({ id: `ort-${graph}-padded`, group: 'padded', file: `${graph}_e${E}_h${H}_keypad.onnx`,
      variant: `${GRAPH_NAMES[graph]}, padded to ${pad} with a key padding mask`,
      feeds: (T) => {
        const { weights: wts, padded: p } = shared(T);
        return selfAttentionFeeds(T, graph, wts, f(T, p.x.data, p.x.shape), p.keyPaddingMask);
      },
      output: ([result]) => realRows(result.y.data, lengths, pad, E) });
    list.push({ id: `ort-${graph}-each`, group: 'one request at a time', file: `${graph}_e${E}_h${H}_none.onnx`,
      variant: `${GRAPH_NAMES[graph]}, one request at a time (${n} runs, no mask)`,
      feeds: (T) => {
        const { weights: wts } = shared(T);
        let at = 0;
        return lengths.map((len) => { // each request in its own array, as a caller would hold it
          const x = f(T, inputs.tokens.data.slice(at * E, (at + len) * E), [1, len, E]);
          at += len;
          return selfAttentionFeeds(T, graph, wts, x);
        });
      },
      output: (results) => concat(...results.map((r) => r.y.data)) });
  }
  return list;
}

/** [cos, sin] of RoPE's angles position · base^(-2i/D) for positions 0..count-1 and i < D/2,
 * [count, D/2] float32 from float64 math (GroupQueryAttention's cos_cache / sin_cache). */
function ropeTables(count, D, base) {
  const half = D / 2, cos = new Float32Array(count * half), sin = new Float32Array(count * half);
  for (let p = 0; p < count; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * base ** (-2 * i / D);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/** W7's cache as ORT holds it: the prompt's keys and values [B, Hkv, S, D] (BNSH), keys rotated
 * at their positions (API.md's rotary: pairs (x[i], x[i + D/2])). The projections run through
 * ORT's MatMul (matmul.onnx), the rotation in float64. */
function pastKeyValues(w, inputs, { ort, binding, modelsDir, threads }) {
  const { B, S, E } = w, D = E / w.H, Hkv = w.kvHeads, kv = kvDim(w), half = D / 2;
  const session = new binding.InferenceSession();
  session.loadModel(path.join(modelsDir, 'matmul.onnx'), { intraOpNumThreads: threads, interOpNumThreads: 1,
    executionMode: 'sequential', graphOptimizationLevel: 'all' });
  const project = (weight) => session.run({ a: new ort.Tensor('float32', inputs.prompt.data, [B * S, E]),
    b: new ort.Tensor('float32', transpose(weight.data, kv, E), [E, kv]) }, { c: null }, {}).c.data; // [B*S, kv]
  const { cos, sin } = ropeTables(S, D, w.ropeBase);
  const toHeads = (projected, rotate) => {
    const out = new Float32Array(B * Hkv * S * D);
    for (let b = 0; b < B; b++) {
      for (let p = 0; p < S; p++) {
        for (let g = 0; g < Hkv; g++) {
          const src = (b * S + p) * kv + g * D, dst = ((b * Hkv + g) * S + p) * D;
          for (let i = 0; i < half; i++) {
            const x1 = projected[src + i], x2 = projected[src + i + half];
            const c = rotate ? cos[p * half + i] : 1, s = rotate ? sin[p * half + i] : 0;
            out[dst + i] = x1 * c - x2 * s;
            out[dst + i + half] = x2 * c + x1 * s;
          }
        }
      }
    }
    return out;
  };
  return { key: toHeads(project(inputs.kWeight), true), value: toHeads(project(inputs.vWeight), false) };
}

/** W7: the decode step with past key/value [B, Hkv, S, D]. GroupQueryAttention (RoPE inside the
 * op) fetching present_key/present_value as well, which onnxruntime-node hands back as new JS
 * arrays every step, preallocated output tensors or not (what a Node user who keeps ORT's cache
 * gets), or the output alone (the op's
 * kernels, the peer the target names); and plain ONNX ops concatenating past and new K/V. */
function gqaDecodeVariants(w, inputs, ctx) {
  const { B, S, E, H } = w, D = E / H, Hkv = w.kvHeads, kv = kvDim(w);
  let shared;
  const common = (T) => {
    if (!shared) {
      const past = pastKeyValues(w, inputs, ctx);
      shared = {
        x: f(T, inputs.token.data, [B, 1, E]),
        wq_t: f(T, transpose(inputs.qWeight.data, E, E), [E, E]), wk_t: f(T, transpose(inputs.kWeight.data, kv, E), [E, kv]),
        wv_t: f(T, transpose(inputs.vWeight.data, kv, E), [E, kv]), w_out_t: f(T, transpose(inputs.outWeight.data, E, E), [E, E]),
        past_key: f(T, past.key, [B, Hkv, S, D]), past_value: f(T, past.value, [B, Hkv, S, D]),
      };
    }
    return shared;
  };
  const gqaFeeds = (T) => {
    const { cos, sin } = ropeTables(S + 1, D, w.ropeBase);
    return { ...common(T), seqlens_k: new T('int32', new Int32Array(B).fill(S), [B]), // total length - 1
      total_sequence_length: new T('int32', Int32Array.of(S + 1), []),
      cos_cache: f(T, cos, [S + 1, D / 2]), sin_cache: f(T, sin, [S + 1, D / 2]) };
  };
  const graph = `e${E}_h${H}_kv${Hkv}.onnx`;
  return [
    { id: 'ort-gqa-present', file: `gqa_past_${graph}`, feeds: gqaFeeds, fetch: ['y', 'present_key', 'present_value'],
      variant: 'GroupQueryAttention op, past K/V, fetching present_key/present_value (what a Node user gets)' },
    { id: 'ort-gqa', file: `gqa_past_${graph}`, feeds: gqaFeeds,
      variant: 'GroupQueryAttention op, past K/V, output only (its kernels alone)' },
    { id: 'ort-gqa-plain', file: `gqa_plain_${graph}`,
      variant: 'plain ONNX ops: RoPE, past K/V concatenated, MatMul/Softmax',
      feeds: (T) => {
        const { cos, sin } = ropeTables(S + 1, D, w.ropeBase);
        const both = (table) => { // the new position's row, for both halves of each head
          const row = table.subarray(S * D / 2, (S + 1) * D / 2), out = new Float32Array(D);
          out.set(row);
          out.set(row, D / 2);
          return out;
        };
        return { ...common(T), rope_cos: f(T, both(cos), [1, 1, 1, D]), rope_sin: f(T, both(sin), [1, 1, 1, D]) };
      } },
  ];
}

/** Blocked positions of a causal mask [L, S] (bottom-right aligned), with a window also those
 * more than window.left positions before the query: [1, 1, L, S] bool. */
function causalBlocked(w) {
  const { L, S } = w, m = new Uint8Array(L * S), left = w.window?.left ?? Infinity;
  for (let i = 0; i < L; i++) {
    const p = i + (S - L);
    for (let j = 0; j < S; j++) m[i * S + j] = j > p || j < p - left ? 1 : 0;
  }
  return { data: m, shape: [1, 1, L, S] };
}

/** W2w: GroupQueryAttention, the op with a sliding window (as many key/value heads as query
 * heads, no past), and the plain-ops graph with the band as its mask. The Attention and
 * MultiHeadAttention ops have no window. */
function windowVariants(w, inputs) {
  const { B, L, E, H } = w;
  const x = inputs.query;
  const base = (T) => {
    const { wq_t, wk_t, wv_t, w_out_t, b_out, bq, bk, bv } = layerWeightFeeds(T, inputs, E);
    const xt = f(T, x.data, x.shape);
    return { query: xt, key: xt, value: xt, wq_t, wk_t, wv_t, w_out_t, b_out, bq, bk, bv };
  };
  return [
    { id: 'ort-gqa-window', variant: `GroupQueryAttention op, window ${w.window.left} keys back`,
      file: `gqa_window_e${E}_h${H}_w${w.window.left}.onnx`,
      feeds: (T) => ({ ...base(T), seqlens_k: new T('int32', new Int32Array(B).fill(L - 1), [B]),
        total_sequence_length: new T('int32', Int32Array.of(L), []) }) },
    { id: 'ort-plain', variant: 'plain ONNX ops, the window as a mask', file: `plain_e${E}_h${H}_causal.onnx`,
      feeds: (T) => {
        const m = causalBlocked(w);
        return { ...base(T), blocked: new T('bool', m.data, m.shape) };
      } },
  ];
}

/** The group of ONNX Runtime's int8 rows: its best is marked and paired apart from float32's. */
export const INT8_GROUP = 'int8 dynamic-quantized';
// int8 dynamic quantization has no accuracy contract to check against; above this rel L2 against
// mha-native's float32 output a graph computes a different function, not the same one coarser
const INT8_CHECK_TOLERANCE = 0.1;
const SCHEMES = { tensor: 'weights per tensor', column: 'weights per column' };

/** The initializers of a quantized weight w ([in, out] float32 [k, n]) under its graph name. */
function quantized(name, m, k, n, scheme) {
  const { q, scale, zeroPoint } = quantizeWeight(m, k, n, scheme);
  return { [name]: q, [`${name}_scale`]: scale, [`${name}_zero_point`]: zeroPoint };
}

/** W1, W2, W5 (`reduced.int8`): the int8 graphs of tools/gen-onnx.py (q8_*), each with its weights
 * quantized per tensor and per column. QAttention projects Q, K and V from one input: self-attention
 * only. */
function int8Variants(w, inputs) {
  const { B, S, E, H } = w;
  const x = inputs.query, kv = w.self ? x : inputs.memory;
  const keep = () => Int32Array.from(inputs.keyPaddingMask.data, (blocked) => (blocked ? 0 : 1)); // 1 = attend
  const bias = () => concat(inputs.qBias.data, inputs.kBias.data, inputs.vBias.data);
  const out = (scheme) => ({ ...quantized('w_out', transpose(inputs.outWeight.data, E, E), E, E, scheme), b_out: inputs.outBias.data });
  const fields = { group: INT8_GROUP, precision: 'int8', tolerance: INT8_CHECK_TOLERANCE };
  const list = [];
  for (const scheme of Object.keys(SCHEMES)) {
    const name = (graph) => `q8_${graph}_${scheme}_e${E}_h${H}_${w.mask}.onnx`;
    const variant = `QAttention op, int8 (DynamicQuantizeLinear input, ${SCHEMES[scheme]}), DynamicQuantizeMatMul output projection`;
    list.push(w.self
      ? { id: `ort-q8-attention-${scheme}`, ...fields, variant, file: name('attention'),
        initializers: () => ({ ...quantized('w_qkv', packQkv(inputs.qWeight.data, inputs.kWeight.data, inputs.vWeight.data, E), E, 3 * E, scheme),
          b_qkv: bias(), ...out(scheme) }),
        feeds: (T) => ({ x: f(T, x.data, x.shape), ...(w.mask === 'keypad' && { mask_index: new T('int32', keep(), [B, S]) }) }) }
      : { id: `ort-q8-attention-${scheme}`, ...fields, variant,
        inapplicable: 'QAttention projects Q, K and V from one input (self-attention only)' });
    list.push({ id: `ort-q8-mha-${scheme}`, ...fields, file: name('mha'),
      variant: `MultiHeadAttention op after DynamicQuantizeMatMul projections, int8 (${SCHEMES[scheme]})`,
      initializers: () => ({
        ...quantized('wq', transpose(inputs.qWeight.data, E, E), E, E, scheme),
        ...quantized('wk', transpose(inputs.kWeight.data, E, E), E, E, scheme),
        ...quantized('wv', transpose(inputs.vWeight.data, E, E), E, E, scheme),
        b_qkv: bias(), ...out(scheme) }),
      feeds: (T) => ({ query: f(T, x.data, x.shape), key: f(T, kv.data, kv.shape), value: f(T, kv.data, kv.shape),
        ...(w.mask === 'keypad' && { key_padding_mask: new T('int32', keep(), [B, S]) }) }) });
  }
  return list;
}

/**
 * Graph variants of workload w: { id, variant, file, feeds(ort.Tensor), group?, fetch?, output?,
 * initializers?, precision?, tolerance? } or { id, variant, inapplicable }. feeds may return an
 * array: one session run each per call (W6 one request at a time). fetch: the outputs each run
 * asks for (default the graph's result); output(results): the array to check from the runs'
 * results (default the first fetch of the first run). group: variants of one group compete for
 * "ORT best" among themselves. initializers(): name -> typed array, the data of the graph's
 * external initializers (written as <name>.bin beside a copy of the graph). precision: other than
 * float32 (the int8 rows), with the check tolerance that goes with it.
 */
function variants(w, inputs, ctx) {
  if (w.kind === 'gemm') {
    return [{ id: 'ort-matmul', variant: w.batch ? 'MatMul, rank 3' : 'MatMul', file: w.batch ? 'bmm.onnx' : 'matmul.onnx',
      feeds: (T) => ({ a: new T('float32', inputs.a.data, inputs.a.shape), b: new T('float32', inputs.b.data, inputs.b.shape) }) }];
  }
  const { B, E, H } = w;
  const D = E / H;
  if (w.kind === 'decode') {
    const { S } = w;
    const { q, k, v } = inputs;
    const qFlat = (T) => new T('float32', q.data, [B, 1, E]); // [B,H,1,D] and [B,1,E] share a layout
    return [
      { id: 'ort-mha4d', variant: 'MultiHeadAttention op, K/V [B,H,S,D]', file: `sdpa_mha4d_e${E}_h${H}.onnx`,
        feeds: (T) => ({ q: qFlat(T), k: new T('float32', k.data, k.shape), v: new T('float32', v.data, v.shape) }) },
      { id: 'ort-mhapast', variant: 'MultiHeadAttention op, past_key/past_value', file: `sdpa_mhapast_e${E}_h${H}.onnx`,
        feeds: (T) => ({
          q: qFlat(T),
          k_new: new T('float32', sliceKeys(k.data, { B, H, S, D }, S - 1, S), [B, 1, E]),
          v_new: new T('float32', sliceKeys(v.data, { B, H, S, D }, S - 1, S), [B, 1, E]),
          past_key: new T('float32', sliceKeys(k.data, { B, H, S, D }, 0, S - 1), [B, H, S - 1, D]),
          past_value: new T('float32', sliceKeys(v.data, { B, H, S, D }, 0, S - 1), [B, H, S - 1, D]),
        }) },
      { id: 'ort-plain', variant: 'plain ONNX ops', file: `sdpa_plain_e${E}_h${H}.onnx`,
        feeds: (T) => ({ q: new T('float32', q.data, q.shape), k: new T('float32', k.data, k.shape), v: new T('float32', v.data, v.shape) }) },
    ];
  }
  if (w.kind === 'ragged') return raggedVariants(w, inputs);
  if (w.kind === 'gqa-decode') return gqaDecodeVariants(w, inputs, ctx);
  if (w.window) return windowVariants(w, inputs);
  const { L, S } = w;
  const x = inputs.query;
  const kv = w.self ? x : inputs.memory;
  const outProj = (T) => ({ w_out_t: f(T, transpose(inputs.outWeight.data, E, E), [E, E]), b_out: f(T, inputs.outBias.data, [E]) });
  const projections = (T) => ({
    query: f(T, x.data, x.shape), key: f(T, kv.data, kv.shape), value: f(T, kv.data, kv.shape),
    wq_t: f(T, transpose(inputs.qWeight.data, E, E), [E, E]), wk_t: f(T, transpose(inputs.kWeight.data, E, E), [E, E]),
    wv_t: f(T, transpose(inputs.vWeight.data, E, E), [E, E]),
  });
  const qkvBias = () => concat(inputs.qBias.data, inputs.kBias.data, inputs.vBias.data);
  const keep = () => Int32Array.from(inputs.keyPaddingMask.data, (blocked) => (blocked ? 0 : 1)); // 1 = attend
  const blocked = () => (w.mask === 'keypad' ? { data: inputs.keyPaddingMask.data, shape: [B, 1, 1, S] } : causalBlocked(w));
  const name = (variant) => `${variant}_e${E}_h${H}_${w.mask}.onnx`;
  const list = [];
  list.push(w.self
    ? { id: 'ort-attention', variant: 'Attention op', file: name('attention'),
      feeds: (T) => ({
        x: f(T, x.data, x.shape), w_qkv: f(T, packQkv(inputs.qWeight.data, inputs.kWeight.data, inputs.vWeight.data, E), [E, 3 * E]),
        b_qkv: f(T, qkvBias(), [3 * E]), ...outProj(T),
        ...(w.mask === 'keypad' ? { mask_index: new T('int32', keep(), [B, S]) } : {}),
      }) }
    : { id: 'ort-attention', variant: 'Attention op', inapplicable: 'the Attention op projects Q, K and V from one input (self-attention only)' });
  list.push({ id: 'ort-mha', variant: 'MultiHeadAttention op', file: name('mha'),
    feeds: (T) => ({ ...projections(T), b_qkv: f(T, qkvBias(), [3 * E]), ...outProj(T),
      ...(w.mask === 'keypad' ? { key_padding_mask: new T('int32', keep(), [B, S]) } : {}) }) });
  list.push({ id: 'ort-plain', variant: 'plain ONNX ops', file: name('plain'),
    feeds: (T) => {
      const feeds = { ...projections(T), bq: f(T, inputs.qBias.data, [E]), bk: f(T, inputs.kBias.data, [E]),
        bv: f(T, inputs.vBias.data, [E]), ...outProj(T) };
      if (w.mask !== 'none') { const m = blocked(); feeds.blocked = new T('bool', m.data, m.shape); }
      return feeds;
    } });
  if (w.reduced?.int8) list.push(...int8Variants(w, inputs));
  return list;
}

/** A copy of graph `file` in a directory of its own with its external initializers' data beside
 * it (raw little-endian, as tools/gen-onnx.py declares them): the path to load. */
function graphWithData(file, initializers, dir) {
  fs.mkdirSync(dir, { recursive: true });
  const copy = path.join(dir, path.basename(file));
  fs.copyFileSync(file, copy);
  for (const [name, data] of Object.entries(initializers)) {
    fs.writeFileSync(path.join(dir, `${name}.bin`), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return copy;
}

/** onnxruntime-node cases; one per graph variant. A missing package makes every case 'missing'. */
export function ortCases(w, inputs, { threads, modelsDir, dir }) {
  let ort, binding, version;
  let missing;
  try {
    ort = require('onnxruntime-node');
    ort.env.logLevel = 'error';
    ({ binding } = require('onnxruntime-node/dist/binding.js'));
    require('onnxruntime-node/dist/binding.js').initOrt();
    version = ort.env.versions?.node ?? 'unknown';
  } catch (e) {
    missing = `not installed: ${e.message.split('\n')[0]}`;
  }
  if (missing) {
    return variants(w, inputs).map((v) => ({ id: v.id, peer: 'onnxruntime', variant: v.variant, version, unavailable: missing,
      ...(v.group && { group: v.group }), ...(v.precision && { precision: v.precision }) }));
  }
  return variants(w, inputs, { ort, binding, modelsDir, threads }).map((v) => {
    const fields = { id: v.id, peer: 'onnxruntime', variant: v.variant, version, ...(v.group && { group: v.group }),
      ...(v.precision && { precision: v.precision, tolerance: v.tolerance }) };
    if (v.inapplicable) return { ...fields, inapplicable: v.inapplicable };
    const file = path.join(modelsDir, v.file);
    const names = v.fetch ?? [v.id === 'ort-matmul' ? 'c' : 'y'];
    let session, feeds, feedList;
    const fetches = Object.fromEntries(names.map((name) => [name, null]));
    // one run, or one run per request (W6 one at a time), with nothing built inside the call
    const runOne = () => session.run(feeds, fetches, {});
    const runEach = () => {
      const results = new Array(feedList.length);
      for (let i = 0; i < feedList.length; i++) results[i] = session.run(feedList[i], fetches, {});
      return results;
    };
    let run, dataDir;
    return {
      ...fields,
      async setup() {
        if (!fs.existsSync(file)) throw new Error(`graph ${v.file} missing: run /usr/bin/python3 tools/gen-onnx.py`);
        let load = file;
        if (v.initializers) {
          // under the workload's dir when the worker gives one, else a temp dir of its own; one per
          // process (the memory child loads the same case while this one's session maps its files)
          dataDir = dir ? path.join(dir, `${v.id}-${process.pid}`) : fs.mkdtempSync(path.join(os.tmpdir(), `mha-bench-${v.id}-`));
          load = graphWithData(file, v.initializers(), dataDir);
        }
        session = new binding.InferenceSession();
        session.loadModel(load, { intraOpNumThreads: threads, interOpNumThreads: 1,
          executionMode: 'sequential', graphOptimizationLevel: 'all' });
        const built = v.feeds(ort.Tensor);
        if (Array.isArray(built)) {
          feedList = built;
          run = runEach;
        } else {
          feeds = built;
          run = runOne;
        }
      },
      async check() {
        const out = run();
        const results = Array.isArray(out) ? out : [out];
        return v.output ? v.output(results) : results[0][names[0]].data;
      },
      runOnce() { return run(); },
      measure(budget) { return timeSync(run, budget); },
      close() { if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true }); },
    };
  });
}
