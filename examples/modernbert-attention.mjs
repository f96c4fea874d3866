// ModernBERT-style encoder attention: global and local (sliding-window) layers alternating
// over a padded batch, with rotary positions.
//
// ModernBERT mixes global layers (every token sees every token) with local ones where a token
// sees only the 64 tokens on either side (its 128-token window: `window: { left: 64, right: 64 }`),
// and gives each kind its own RoPE base (160000 global, 10000 local). Here three layers,
// global / local / global, each with a residual connection, run over a batch of three
// sequences of 200, 57 and 130 tokens padded to 200 with a key padding mask.
//
// The example prints, for a few tokens, which keys each layer lets them see (from the
// attention weights), then checks itself and exits nonzero when a check fails:
// - padding does not leak: filling the padded positions with other values leaves every real
//   token's output unchanged, through all three layers;
// - the window is the band it claims to be: the local layer equals the same weights without a
//   window plus an explicit boolean band mask (relative L2 <= 1e-5).
// The weights are seeded, not trained. Run: npm run build && node examples/modernbert-attention.mjs
import { MultiHeadAttention } from 'mha-native';
import { mulberry32, relL2 } from './helpers.mjs';

const E = 64;
const HEADS = 4;
const LENGTHS = [200, 57, 130];
const B = LENGTHS.length;
const L = Math.max(...LENGTHS);
const WINDOW = { left: 64, right: 64 };

// The layers: ModernBERT's attention has no biases. (`seed` makes each layer's weights; the
// local twin below reuses seed 2 to get the local layer's weights.)
const globalLayer = (seed) => new MultiHeadAttention({
  embedDim: E, numHeads: HEADS, bias: false, seed, rotary: { base: 160000 },
});
const localLayer = (seed) => new MultiHeadAttention({
  embedDim: E, numHeads: HEADS, bias: false, seed, rotary: { base: 10000 }, window: WINDOW,
});
const layers = [
  { kind: 'global', layer: globalLayer(1) },
  { kind: 'local', layer: localLayer(2) },
  { kind: 'global', layer: globalLayer(3) },
];

// The batch: seeded token vectors for the real positions, `fill` for the padded ones.
function batch(fill) {
  const random = mulberry32(7);
  const x = { data: new Float32Array(B * L * E), shape: [B, L, E] };
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < L; t++) {
      for (let i = 0; i < E; i++) x.data[(b * L + t) * E + i] = t < LENGTHS[b] ? 2 * random() - 1 : fill();
    }
  }
  return x;
}
const keyPaddingMask = { data: new Uint8Array(B * L), shape: [B, L] };   // nonzero = padding
LENGTHS.forEach((n, b) => keyPaddingMask.data.fill(1, b * L + n, (b + 1) * L));

/** Every layer's input and output: h <- h + attention(h), padding masked. */
function encode(x) {
  const inputs = [];
  let h = x;
  for (const { layer } of layers) {
    inputs.push(h);
    const { output } = layer.forward(h, h, h, { keyPaddingMask });
    h = { data: h.data.map((v, i) => v + output.data[i]), shape: h.shape };
  }
  return { inputs, output: h };
}

/** The rows of real (unpadded) tokens only. */
function realRows(t) {
  return Float32Array.from(LENGTHS.flatMap((n, b) => Array.from(t.data.subarray(b * L * E, (b * L + n) * E))));
}

console.log(`batch of ${B} sequences (${LENGTHS.join(', ')} tokens) padded to ${L}; embedDim ${E}, ${HEADS} heads`);
console.log(`layers: ${layers.map((l) => l.kind).join(' / ')} (local: window ${WINDOW.left} left, ${WINDOW.right} right)`);

const x = batch(() => 0);
const { inputs, output } = encode(x);

// Which keys each layer lets a few tokens see: the range of keys with a nonzero attention weight.
const probes = [[0, 0], [0, 100], [0, 199], [1, 30], [2, 129]];
const cell = (text) => text.padEnd(12);
console.log('keys each token sees (nonzero attention weight):');
console.log((cell('') + cell('') + probes.map(([b, t]) => cell(`seq ${b} t${t}`)).join('')).trimEnd());
layers.forEach(({ kind, layer }, n) => {
  const h = inputs[n];
  const { attnWeights } = layer.forward(h, h, h, { keyPaddingMask, needWeights: true });   // [B, L, L]
  const seen = probes.map(([b, t]) => {
    const row = attnWeights.data.subarray((b * L + t) * L, (b * L + t + 1) * L);
    const keys = [...row.keys()].filter((j) => row[j] > 0);
    return cell(`${keys[0]}..${keys.at(-1)}`);
  });
  console.log((cell(`layer ${n}`) + cell(kind) + seen.join('')).trimEnd());
});

// Check 1: other values in the padded positions change no real token's output.
const noise = mulberry32(99);
const noisy = encode(batch(() => 100 * (2 * noise() - 1))).output;
const padError = relL2(realRows(noisy), realRows(output));
const padOk = padError <= 1e-5;
console.log(`padding check: filling the padding with noise ${padOk ? 'leaves' : 'CHANGES'} the ${LENGTHS.reduce((a, n) => a + n)} ` +
  `real rows after ${layers.length} layers (relative L2 ${padError.toExponential(1)})`);

// Check 2: the local layer = the same weights without a window + a boolean band mask [L, L].
const band = { data: new Uint8Array(L * L), shape: [L, L] };
for (let i = 0; i < L; i++) {
  for (let j = 0; j < L; j++) band.data[i * L + j] = j < i - WINDOW.left || j > i + WINDOW.right ? 1 : 0;
}
// seed 2 and the same rotary base: the local layer's weights and positions, without its window
const twin = new MultiHeadAttention({ embedDim: E, numHeads: HEADS, bias: false, seed: 2, rotary: { base: 10000 } });
const h1 = inputs[1];
const windowed = layers[1].layer.forward(h1, h1, h1, { keyPaddingMask }).output;
const masked = twin.forward(h1, h1, h1, { keyPaddingMask, attnMask: band }).output;
const bandError = relL2(realRows(windowed), realRows(masked));
const bandOk = bandError <= 1e-5;
console.log(`window check: the local layer ${bandOk ? 'equals' : 'DIFFERS FROM'} the same weights with an explicit ` +
  `band mask (relative L2 ${bandError.toExponential(1)})`);
process.exitCode = padOk && bandOk ? 0 : 1;
