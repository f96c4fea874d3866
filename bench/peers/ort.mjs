// onnxruntime-node (CPU EP) peer: the graphs of tools/gen-onnx.py, weights fed as inputs.
// Sessions run through the addon binding's synchronous run() (the public InferenceSession.run
// is that same call deferred by one setImmediate), so ORT is timed by benchmark.js like ours.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { timeSync } from '../timing.mjs';

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

/** Graph variants of workload w: { id, variant, file, feeds(ort.Tensor) } or { id, variant, inapplicable }. */
function variants(w, inputs) {
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
  const { L, S } = w;
  const x = inputs.query;
  const kv = w.self ? x : inputs.memory;
  const f = (T, data, shape) => new T('float32', data, shape);
  const outProj = (T) => ({ w_out_t: f(T, transpose(inputs.outWeight.data, E, E), [E, E]), b_out: f(T, inputs.outBias.data, [E]) });
  const projections = (T) => ({
    query: f(T, x.data, x.shape), key: f(T, kv.data, kv.shape), value: f(T, kv.data, kv.shape),
    wq_t: f(T, transpose(inputs.qWeight.data, E, E), [E, E]), wk_t: f(T, transpose(inputs.kWeight.data, E, E), [E, E]),
    wv_t: f(T, transpose(inputs.vWeight.data, E, E), [E, E]),
  });
  const qkvBias = () => concat(inputs.qBias.data, inputs.kBias.data, inputs.vBias.data);
  const keep = () => Int32Array.from(inputs.keyPaddingMask.data, (blocked) => (blocked ? 0 : 1)); // 1 = attend
  const blocked = () => {
    if (w.mask === 'keypad') return { data: inputs.keyPaddingMask.data, shape: [B, 1, 1, S] };
    const m = new Uint8Array(L * S);
    for (let i = 0; i < L; i++) for (let j = 0; j < S; j++) m[i * S + j] = j > i + (S - L) ? 1 : 0;
    return { data: m, shape: [1, 1, L, S] };
  };
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
  return list;
}

/** onnxruntime-node cases; one per graph variant. A missing package makes every case 'missing'. */
export function ortCases(w, inputs, { threads, modelsDir }) {
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
  return variants(w, inputs).map((v) => {
    const fields = { id: v.id, peer: 'onnxruntime', variant: v.variant, version };
    if (missing) return { ...fields, unavailable: missing };
    if (v.inapplicable) return { ...fields, inapplicable: v.inapplicable };
    const file = path.join(modelsDir, v.file);
    let session, feeds;
    const fetches = {};
    const run = () => session.run(feeds, fetches, {});
    return {
      ...fields,
      async setup() {
        if (!fs.existsSync(file)) throw new Error(`graph ${v.file} missing: run /usr/bin/python3 tools/gen-onnx.py`);
        session = new binding.InferenceSession();
        session.loadModel(file, { intraOpNumThreads: threads, interOpNumThreads: 1,
          executionMode: 'sequential', graphOptimizationLevel: 'all' });
        feeds = v.feeds(ort.Tensor);
        fetches[v.id === 'ort-matmul' ? 'c' : 'y'] = null;
      },
      async check() { return Object.values(run())[0].data; },
      runOnce() { return run(); },
      measure(budget) { return timeSync(run, budget); },
    };
  });
}
