// Continuous batching: requests join and leave a running generation loop between steps, all
// through ONE KV cache with a slot (sequence) per running request.
//
// The cache has `SLOTS` sequences, each with its own length. A request that arrives waits for
// a free slot, which `cache.reset(slot)` empties for it. Every step is one packed call,
//   layer.forward(x [T, E], x, x, { kvCache: cache, isCausal: true, sequenceLengths }),
// where sequenceLengths has one entry per slot: a new request's whole prompt, 1 (the last
// token) for a running one, 0 for an idle slot. Each sequence's new tokens attend only to
// that sequence's cache, and its rotary positions continue from its own length. A request
// leaves when it has generated its tokens; its slot is free for the next one.
//
// The model is a toy: one grouped-query attention layer with rotary positions, a seeded
// embedding table, and greedy tokens (argmax of the output against the embeddings).
// At the end every request is recomputed alone, one causal forward over its tokens without a
// cache; the example exits nonzero unless each matches (relative L2 <= 1e-5).
// Run: npm run build && node examples/continuous-batching.mjs
import { MultiHeadAttention } from 'mha-native';
import { greedy, mulberry32, relL2 } from './helpers.mjs';

const E = 32;
const VOCAB = 40;
const SLOTS = 3;
const CAPACITY = 16;   // positions per slot: the longest prompt + tokens a request may hold
const REQUESTS = [     // arrival step, prompt token ids, tokens to generate
  { name: 'A', arrives: 0, prompt: [3, 14, 15, 9, 26], generate: 4 },
  { name: 'B', arrives: 0, prompt: [5, 35, 8], generate: 6 },
  { name: 'C', arrives: 1, prompt: [9, 7, 9, 3, 2, 38, 4], generate: 3 },
  { name: 'D', arrives: 1, prompt: [6, 26], generate: 5 },
  { name: 'E', arrives: 3, prompt: [4, 33, 8, 32], generate: 2 },
  { name: 'F', arrives: 8, prompt: [7, 9, 5, 0, 2, 8], generate: 3 },
];

const layer = new MultiHeadAttention({ embedDim: E, numHeads: 4, numKvHeads: 2, bias: false, rotary: {}, seed: 5 });
const random = mulberry32(11);
const embedding = Float32Array.from({ length: VOCAB * E }, () => 2 * random() - 1);   // [VOCAB, E]
const cache = layer.createKVCache({ batchSize: SLOTS, capacity: CAPACITY });

/** Token ids -> their embeddings, back to back ([ids.length * E]). */
function embed(ids) {
  const data = new Float32Array(ids.length * E);
  ids.forEach((id, t) => data.set(embedding.subarray(id * E, (id + 1) * E), t * E));
  return data;
}

const waiting = [];
const slots = new Array(SLOTS).fill(null);  // the running request of each slot
const finished = [];
const column = (text, width = 8) => String(text).padEnd(width);
console.log(`${REQUESTS.length} requests, ${SLOTS} slots of ${CAPACITY} positions in one KV cache`);
console.log('(slot: request:new tokens; T: tokens in the packed call; lengths: each slot\'s cache length after it)');
console.log(`step  ${slots.map((_, slot) => column(`slot ${slot}`)).join('')}${column('T', 4)}${column('lengths', 12)}events`);
for (let step = 0; finished.length < REQUESTS.length; step++) {
  waiting.push(...REQUESTS.filter((r) => r.arrives === step));
  const events = [];
  // Admit waiting requests into free slots; each brings its whole prompt.
  for (let slot = 0; slot < SLOTS && waiting.length > 0; slot++) {
    if (slots[slot]) continue;
    const request = waiting.shift();
    cache.reset(slot);                                         // the slot's old positions are forgotten
    slots[slot] = { request, next: request.prompt, fed: [], generated: [], rows: [] };
    events.push(`${request.name} joins slot ${slot}`);
  }

  // One packed step: every slot's new tokens back to back.
  const sequenceLengths = slots.map((running) => (running ? running.next.length : 0));
  const T = sequenceLengths.reduce((a, n) => a + n, 0);
  const schedule = `${String(step).padStart(4)}  ` +
    slots.map((running) => column(running ? `${running.request.name}:${running.next.length}` : '-')).join('');
  if (T === 0) {
    console.log(`${schedule}0   (every slot idle)`);
    continue;
  }
  const x = { data: new Float32Array(T * E), shape: [T, E] };
  let at = 0;
  for (const running of slots) {
    if (!running) continue;
    x.data.set(embed(running.next), at * E);
    at += running.next.length;
  }
  const { output } = layer.forward(x, x, x, { kvCache: cache, isCausal: true, sequenceLengths });   // [T, E]

  // Each running request reads its rows; its last row picks its next token.
  at = 0;
  slots.forEach((running, slot) => {
    if (!running) return;
    const n = running.next.length;
    const rows = output.data.subarray(at * E, (at + n) * E);
    at += n;
    running.fed.push(...running.next);
    running.rows.push(...rows);
    const token = greedy(rows.subarray((n - 1) * E), embedding);
    running.generated.push(token);
    running.next = [token];
    if (running.generated.length === running.request.generate) {
      finished.push(running);
      slots[slot] = null;                                      // free for the next request
      events.push(`${running.request.name} done`);
    }
  });
  console.log(`${schedule}${column(T, 4)}${column(`[${cache.lengths.join(',')}]`, 12)}${events.join(', ')}`.trimEnd());
}

// Check: each request alone, one causal forward over every token it fed, no cache.
let ok = true;
for (const { request, fed, generated, rows } of finished.sort((a, b) => a.request.name.localeCompare(b.request.name))) {
  const x = { data: embed(fed), shape: [1, fed.length, E] };
  const alone = layer.forward(x, x, x, { isCausal: true }).output;
  const error = relL2(rows, alone.data);
  ok &&= error <= 1e-5;
  console.log(`${request.name}: prompt ${request.prompt.join(' ')} -> ${generated.join(' ')}  ` +
    `(alone: relative L2 ${error.toExponential(1)})`);
}
console.log(`check: every request ${ok ? 'matches' : 'DOES NOT MATCH'} running it alone`);
process.exitCode = ok ? 0 : 1;
