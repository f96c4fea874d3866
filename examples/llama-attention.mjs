// A Llama-style attention block generating through a KV cache: grouped-query attention (8 query
// heads share 2 key/value heads) with rotary positions (RoPE, base 500000 as in Llama 3).
//
// 1. Writes a small safetensors checkpoint with Hugging Face Llama names
//    (model.layers.0.self_attn.q_proj/k_proj/v_proj/o_proj.weight, no biases) and a tied
//    embedding table (model.embed_tokens.weight), seeded random weights, to a temp directory.
// 2. Loads the attention block with MultiHeadAttention.fromSafetensors: the Llama names are
//    recognised, numKvHeads is read from k_proj's rows, no bias keys means no biases.
// 3. Runs a prompt through a KV cache in one call, then generates tokens one at a time: each
//    step feeds the embedding of the previous step's greedy token (argmax of the output against
//    the embedding table) and appends one position to the cache.
// 4. Checks itself: the last step's output equals the last row of one causal forward over every
//    token so far, without a cache, and so do all earlier steps' rows (relative L2 <= 1e-5);
//    exits nonzero otherwise.
// The weights are seeded, not trained: the token ids are arbitrary, the mechanics are the point.
// Run: npm run build && node examples/llama-attention.mjs
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MultiHeadAttention, loadSafetensors } from 'mha-native';
import { greedy, mulberry32, relL2 } from './helpers.mjs';

const E = 64;           // hidden size
const H = 8;            // attention heads (query)
const HKV = 2;          // key/value heads: every 4 query heads share one (grouped-query attention)
const D = E / H;        // head dim
const VOCAB = 48;
const PROMPT = [1, 17, 33, 5, 42, 8, 23];  // token ids
const NEW_TOKENS = 8;
const PREFIX = 'model.layers.0.self_attn.';

/** [rows, cols] uniform in +-1/sqrt(cols) (the scale of nn.Linear's default init). */
function randomMatrix(random, rows, cols) {
  const bound = 1 / Math.sqrt(cols);
  return { shape: [rows, cols], data: Float32Array.from({ length: rows * cols }, () => (2 * random() - 1) * bound) };
}

/**
 * A safetensors file: an 8-byte little-endian header length N, N bytes of JSON
 * ({ name: { dtype, shape, data_offsets: [begin, end] } }, padded with spaces to a multiple of
 * 8 as the reference writer does), then the tensors' bytes (F32, little-endian).
 */
function safetensorsBytes(tensors) {
  const header = {};
  let size = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [size, size + 4 * t.data.length] };
    size += 4 * t.data.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const bytes = new Uint8Array(8 + json.length + size);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  bytes.set(new TextEncoder().encode(json), 8);
  let at = 8 + json.length;
  for (const t of Object.values(tensors)) {
    for (const x of t.data) { view.setFloat32(at, x, true); at += 4; }
  }
  return bytes;
}

// --- 1. a checkpoint with Llama names -----------------------------------------------------------
const random = mulberry32(2024);
const checkpoint = {
  'model.embed_tokens.weight': randomMatrix(random, VOCAB, E),
  [`${PREFIX}q_proj.weight`]: randomMatrix(random, H * D, E),
  [`${PREFIX}k_proj.weight`]: randomMatrix(random, HKV * D, E),   // [numKvHeads * headDim, E]
  [`${PREFIX}v_proj.weight`]: randomMatrix(random, HKV * D, E),
  [`${PREFIX}o_proj.weight`]: randomMatrix(random, E, H * D),
  'model.layers.0.input_layernorm.weight': { shape: [E], data: new Float32Array(E).fill(1) }, // ignored by the loader
};
const dir = mkdtempSync(join(tmpdir(), 'mha-native-llama-'));
const file = join(dir, 'model.safetensors');
let exitCode = 1;
try {
  writeFileSync(file, safetensorsBytes(checkpoint));

  // --- 2. load it ----------------------------------------------------------------------------------
  const layer = MultiHeadAttention.fromSafetensors(file, { numHeads: H, prefix: PREFIX, rotary: { base: 500000 } });
  const embedding = loadSafetensors(file)['model.embed_tokens.weight'].data;   // [VOCAB, E]
  console.log(`loaded ${PREFIX}{q,k,v,o}_proj from ${Object.keys(checkpoint).length} tensors: embedDim ${layer.embedDim}, ` +
    `${layer.numHeads} query heads, ${layer.numKvHeads} key/value heads, headDim ${layer.headDim}`);

  const capacity = PROMPT.length + NEW_TOKENS;
  const cache = layer.createKVCache({ batchSize: 1, capacity });
  const cacheBytes = 2 * capacity * layer.numKvHeads * layer.headDim * 4;   // keys + values, float32
  console.log(`KV cache: ${capacity} positions x ${layer.numKvHeads} heads x ${layer.headDim} = ${cacheBytes} bytes ` +
    `(${layer.numHeads / layer.numKvHeads}x less than with one key/value head per query head)`);

  const embed = (ids) => {
    const data = new Float32Array(ids.length * E);
    ids.forEach((id, t) => data.set(embedding.subarray(id * E, (id + 1) * E), t * E));
    return { data, shape: [1, ids.length, E] };
  };
  /** The token whose embedding has the largest dot product with the last output row. */

  // --- 3. prompt in one call, then one token per step ----------------------------------------------
  const tokens = [...PROMPT];
  const x = embed(PROMPT);
  let { output } = layer.forward(x, x, x, { kvCache: cache, isCausal: true });   // [1, 7, E]: 7 positions cached
  const rows = [output.data];                                                    // every position's output, in order
  console.log(`prompt [${PROMPT.join(', ')}]: output ${JSON.stringify(output.shape)}, cache ${cache.length}/${cache.capacity}`);
  for (let step = 1; step <= NEW_TOKENS; step++) {
    tokens.push(greedy(output.data.subarray(output.data.length - E), embedding));
    const xt = embed(tokens.slice(-1));                                           // [1, 1, E]
    ({ output } = layer.forward(xt, xt, xt, { kvCache: cache, isCausal: true }));
    rows.push(output.data);
    console.log(`step ${step}: fed token ${tokens.at(-1)} at position ${tokens.length - 1}, cache ${cache.length}/${cache.capacity}`);
  }
  console.log(`tokens: ${tokens.slice(0, PROMPT.length).join(' ')} | ${tokens.slice(PROMPT.length).join(' ')}`);

  // --- 4. check: one causal forward over every token, no cache ---------------------------------------
  const all = embed(tokens);
  const full = layer.forward(all, all, all, { isCausal: true }).output;          // [1, tokens, E]
  const last = relL2(output.data, full.data.subarray((tokens.length - 1) * E));
  const every = relL2(Float32Array.from(rows.flatMap((r) => Array.from(r))), full.data);
  const ok = last <= 1e-5 && every <= 1e-5;
  console.log(`cache check: the last step ${ok ? 'matches' : 'DIFFERS FROM'} one causal forward over all ` +
    `${tokens.length} tokens (relative L2 ${last.toExponential(1)}; all ${tokens.length} rows: ${every.toExponential(1)})`);
  exitCode = ok ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = exitCode;
