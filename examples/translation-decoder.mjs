// A translation decoder step by step: causal self-attention over the target prefix through a
// KV cache, plus cross-attention to the encoder output whose keys/values are projected once.
//
// A toy encoder (one self-attention layer with the source padding masked) encodes a padded
// batch of source sentences. The decoder keeps two caches per batch: `selfCache` (each step
// appends the new token's keys/values: forward(x, x, x, { kvCache, isCausal: true })) and
// `memory` (the encoder output projected once by appendKV with the source padding; every step
// reads it: forward(h, null, null, { kvCache: memory })). A tied toy output projection picks
// the next token greedily (no word twice); finished sequences keep feeding </s> marked as
// padding. At the end the whole generated prefix is recomputed without caches to check the
// incremental result.
// The weights are seeded, not trained: the words are arbitrary, the mechanics are the point.
// Run: npx tsc -p tsconfig.json && node examples/translation-decoder.mjs
import { MultiHeadAttention } from '../dist/index.js';
import { mulberry32 } from './helpers.mjs';

const E = 32;
const HEADS = 4;
const MAX_STEPS = 6;
const SRC_VOCAB = ['<pad>', 'the', 'cat', 'sleeps', 'a', 'dog', 'runs', 'fast', 'today'];
const TGT_VOCAB = ['<pad>', '<s>', '</s>', 'le', 'la', 'chat', 'chien', 'dort', 'court', 'vite', "aujourd'hui", 'un'];
const SOURCES = ['the cat sleeps', 'a dog runs fast today'];
const BOS = 1, EOS = 2;

/** A [vocab, E] embedding table with rows seeded by (seed, id). */
function table(size, seed) {
  const t = new Float32Array(size * E);
  for (let id = 0; id < size; id++) {
    const random = mulberry32(seed * 7919 + id);
    for (let i = 0; i < E; i++) t[id * E + i] = random() * 2 - 1;
  }
  return t;
}

/** Embedding row plus the sinusoidal encoding of `position`, written into out. */
function embed(tableData, id, position, out) {
  for (let i = 0; i < E; i++) {
    const angle = position / 10000 ** ((2 * Math.floor(i / 2)) / E);
    out[i] = tableData[id * E + i] + 0.5 * (i % 2 === 0 ? Math.sin(angle) : Math.cos(angle));
  }
}

const add = (a, b) => ({ data: a.data.map((v, i) => v + b.data[i]), shape: a.shape });

// --- source side: tokenize, pad, encode -------------------------------------------------------
const srcEmbed = table(SRC_VOCAB.length, 1);
const srcIds = SOURCES.map((s) => s.split(' ').map((w) => SRC_VOCAB.indexOf(w)));
const B = srcIds.length;
const S = Math.max(...srcIds.map((ids) => ids.length));
const src = { data: new Float32Array(B * S * E), shape: [B, S, E] };
const srcPadding = { data: new Uint8Array(B * S), shape: [B, S] };
srcIds.forEach((ids, b) => {
  for (let s = 0; s < S; s++) {
    embed(srcEmbed, s < ids.length ? ids[s] : 0, s, src.data.subarray((b * S + s) * E, (b * S + s + 1) * E));
    srcPadding.data[b * S + s] = s < ids.length ? 0 : 1;
  }
});
const encoder = new MultiHeadAttention({ embedDim: E, numHeads: HEADS, seed: 11 });
const encoded = add(src, encoder.forward(src, src, src, { keyPaddingMask: srcPadding }).output);

// --- decoder: two attention layers, each with its cache ----------------------------------------
const selfAttn = new MultiHeadAttention({ embedDim: E, numHeads: HEADS, seed: 12 });
const crossAttn = new MultiHeadAttention({ embedDim: E, numHeads: HEADS, seed: 13 });
const tgtEmbed = table(TGT_VOCAB.length, 8); // also the (tied) output projection
const selfCache = selfAttn.createKVCache({ batchSize: B, capacity: MAX_STEPS + 1 });
const memory = crossAttn.createKVCache({ batchSize: B, capacity: S });
crossAttn.appendKV(memory, encoded, encoded, { keyPaddingMask: srcPadding }); // projected once

/**
 * The most likely next token of each sequence from hidden states [B, 1, E]: the largest score
 * against the tied embeddings, never <pad>, <s> or a word the sequence already produced.
 */
function greedy(hidden) {
  return Array.from({ length: B }, (_, b) => {
    let best = EOS, bestScore = -Infinity;
    for (let id = EOS; id < TGT_VOCAB.length; id++) {
      if (generated[b].includes(TGT_VOCAB[id])) continue;
      let score = 0;
      for (let i = 0; i < E; i++) score += hidden.data[b * E + i] * tgtEmbed[id * E + i];
      if (score > bestScore) { best = id; bestScore = score; }
    }
    return best;
  });
}

console.log(`translation decoder: ${B} source sentences (padded to ${S}), embedDim ${E}, ${HEADS} heads`);
srcIds.forEach((ids, b) => console.log(`source ${b}: "${SOURCES[b]}" (${ids.length} tokens)`));

const fed = [];        // per step: the token each sequence was fed, and whether it was padding
const outputs = [];    // per step: the decoder's hidden state [B, 1, E]
let next = new Array(B).fill(BOS);
const done = new Array(B).fill(false);
const generated = Array.from({ length: B }, () => []);
for (let step = 0; step < MAX_STEPS && !done.every(Boolean); step++) {
  const x = { data: new Float32Array(B * E), shape: [B, 1, E] };
  next.forEach((id, b) => embed(tgtEmbed, id, step, x.data.subarray(b * E, (b + 1) * E)));
  const pad = { data: Uint8Array.from(done, (d) => (d ? 1 : 0)), shape: [B, 1] };
  const h = add(x, selfAttn.forward(x, x, x, { kvCache: selfCache, isCausal: true, keyPaddingMask: pad }).output);
  const y = add(h, crossAttn.forward(h, null, null, { kvCache: memory }).output);
  fed.push({ ids: next, pad: pad.data });
  outputs.push(y);
  next = greedy(y).map((id, b) => (done[b] ? EOS : id));
  next.forEach((id, b) => {
    if (done[b]) return;
    generated[b].push(TGT_VOCAB[id]);
    if (id === EOS) done[b] = true;
  });
  console.log(`step ${step + 1}: ${next.map((id, b) => (fed[step].pad[b] ? '(done)' : TGT_VOCAB[id])).join(' | ')}` +
    `  [self cache ${selfCache.length}/${selfCache.capacity}, memory ${memory.length}]`);
}
generated.forEach((words, b) => console.log(`translation ${b}: ${words.join(' ')}`));

// --- check: the whole prefix at once, without caches ----------------------------------------------
const T = fed.length;
const xs = { data: new Float32Array(B * T * E), shape: [B, T, E] };
const tgtPadding = { data: new Uint8Array(B * T), shape: [B, T] };
fed.forEach(({ ids, pad }, t) => ids.forEach((id, b) => {
  embed(tgtEmbed, id, t, xs.data.subarray((b * T + t) * E, (b * T + t + 1) * E));
  tgtPadding.data[b * T + t] = pad[b];
}));
const hs = add(xs, selfAttn.forward(xs, xs, xs, { isCausal: true, keyPaddingMask: tgtPadding }).output);
const ys = add(hs, crossAttn.forward(hs, encoded, encoded, { keyPaddingMask: srcPadding }).output);
let maxDiff = 0;
outputs.forEach((y, t) => {
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < E; i++) maxDiff = Math.max(maxDiff, Math.abs(y.data[b * E + i] - ys.data[(b * T + t) * E + i]));
  }
});
const ok = maxDiff < 1e-4;
console.log(`cache check: incremental decoding ${ok ? 'matches' : 'DIFFERS FROM'} a full causal recompute ` +
  `over ${T} steps (max |diff| ${maxDiff.toExponential(2)})`);
process.exitCode = ok ? 0 : 1;
