// The soak scripts' inputs: WORKLOADS.md's W1 and W4 as self-attention calls on seeded random data.
import os from 'node:os';
import { MultiHeadAttention, nativeInfo } from '../../dist/index.js';

/** A tensor of seeded random values in [-1, 1). */
export function randomTensor(shape, seed) {
  let state = seed >>> 0;
  const data = new Float32Array(shape.reduce((n, d) => n * d, 1));
  for (let i = 0; i < data.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    data[i] = state / 2 ** 31 - 1;
  }
  return { data, shape };
}

/** [B, S] boolean key padding: the last `padded` keys blocked in the second half of the batch. */
function keyPadding(B, S, padded) {
  const data = new Uint8Array(B * S);
  for (let b = B / 2; b < B; b++) data.fill(1, b * S + S - padded, (b + 1) * S);
  return { data, shape: [B, S] };
}

/** A workload as { name, mha, args: [query, key, value, options] } for forward / forwardAsync. */
export function workload(name) {
  const specs = {
    W1: { B: 8, L: 128, E: 768, H: 12, options: { keyPaddingMask: keyPadding(8, 128, 32) } },
    W4: { B: 1, L: 32, E: 256, H: 4, options: {} },
  };
  const { B, L, E, H, options } = specs[name];
  const mha = new MultiHeadAttention({ embedDim: E, numHeads: H, seed: 7 });
  const x = randomTensor([B, L, E], 11);
  return { name, mha, args: [x, x, x, options] };
}

export function mib(bytes) {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** One line on the machine: timings on a shared machine mean little without its load. */
export function machine() {
  const { isa, threads } = nativeInfo();
  const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
  return `machine: ${os.availableParallelism()} cores, load average ${load}; kernels ${isa}, ${threads} threads (setNumThreads)`;
}
