// BERT-style encoder self-attention over a padded batch of sentences.
//
// A toy vocabulary turns a few short sentences into token ids; each token gets a deterministic
// embedding (seeded from its id) plus a sinusoidal position encoding; the batch is padded to the
// longest sentence and a key padding mask [B, S] keeps the padding out of every softmax. One
// MultiHeadAttention layer (seeded weights) runs over the batch with per-head attention weights,
// and the example prints, for each sentence and head, which token each token attends to most.
// Run: npx tsc -p tsconfig.json && node examples/bert-encoder.mjs
import { MultiHeadAttention, nativeInfo } from '../dist/index.js';
import { mulberry32 } from './helpers.mjs';

const EMBED_DIM = 32;
const NUM_HEADS = 4;
const VOCAB = ['[PAD]', '[CLS]', '[UNK]', 'the', 'a', 'cat', 'dog', 'sat', 'on', 'mat', 'barks', 'at', 'bird',
  'sings', 'in', 'tree', 'today', 'loudly'];
const SENTENCES = ['the cat sat on the mat', 'a dog barks', 'the bird sings in a tree today'];

/** [CLS] followed by the words' ids ([UNK] for words outside the vocabulary). */
function tokenize(sentence) {
  return [1, ...sentence.split(/\s+/).map((w) => Math.max(VOCAB.indexOf(w), 2))];
}

/** Token embedding (seeded by the id) plus the sinusoidal encoding of its position. */
function embed(id, position, out) {
  const random = mulberry32(1000 + id);
  for (let i = 0; i < EMBED_DIM; i++) {
    const angle = position / 10000 ** ((2 * Math.floor(i / 2)) / EMBED_DIM);
    out[i] = (random() * 2 - 1) + (i % 2 === 0 ? Math.sin(angle) : Math.cos(angle));
  }
}

const tokens = SENTENCES.map(tokenize);
const B = tokens.length;
const S = Math.max(...tokens.map((t) => t.length));
const x = new Float32Array(B * S * EMBED_DIM);
const padding = new Uint8Array(B * S); // 1 = padding (blocked)
tokens.forEach((ids, b) => {
  for (let s = 0; s < S; s++) {
    embed(s < ids.length ? ids[s] : 0, s, x.subarray((b * S + s) * EMBED_DIM, (b * S + s + 1) * EMBED_DIM));
    padding[b * S + s] = s < ids.length ? 0 : 1;
  }
});

const layer = new MultiHeadAttention({ embedDim: EMBED_DIM, numHeads: NUM_HEADS, seed: 7 });
const input = { data: x, shape: [B, S, EMBED_DIM] };
const { output, attnWeights } = layer.forward(input, input, input, {
  keyPaddingMask: { data: padding, shape: [B, S] }, needWeights: true, averageAttnWeights: false,
});

console.log(`mha-native ${nativeInfo().version} (${nativeInfo().isa}): BERT-style encoder self-attention`);
console.log(`batch of ${B} sentences padded to ${S} tokens, embedDim ${EMBED_DIM}, ${NUM_HEADS} heads`);
const w = attnWeights.data; // [B, H, S, S]
let paddingWeight = 0;
tokens.forEach((ids, b) => {
  const words = ids.map((id) => VOCAB[id]);
  console.log(`\nsentence ${b}: "${SENTENCES[b]}" (${ids.length} tokens, ${S - ids.length} padding)`);
  for (let h = 0; h < NUM_HEADS; h++) {
    const pairs = words.map((word, i) => {
      const row = w.subarray(((b * NUM_HEADS + h) * S + i) * S, ((b * NUM_HEADS + h) * S + i + 1) * S);
      for (let s = ids.length; s < S; s++) paddingWeight = Math.max(paddingWeight, row[s]);
      let best = 0;
      for (let s = 1; s < S; s++) if (row[s] > row[best]) best = s;
      return `${word}->${words[best]}(${row[best].toFixed(2)})`;
    });
    console.log(`  head ${h}: ${pairs.join(' ')}`);
  }
});
console.log(`\nlargest attention weight on a padding token: ${paddingWeight}`);
console.log(`output shape [${output.shape.join(', ')}], finite: ${output.data.every(Number.isFinite)}`);
