// The addon's own thread pool: created once, sized by setNumThreads, reused by every call
// (no thread per call), and doing the work of forwardAsync while the libuv thread waits.
import { readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { getNumThreads, MultiHeadAttention, setNumThreads } from '../lib/index.js';
import { randTensor, Rng } from './helpers.js';

const threadCount = () => readdirSync('/proc/self/task').length;
const initial = getNumThreads();
afterAll(() => setNumThreads(initial));

describe.runIf(process.platform === 'linux')('thread pool', () => {
  // big enough (~1 GFLOP a call) that every job goes to the pool, not inline
  const mha = new MultiHeadAttention({ embedDim: 256, numHeads: 4, seed: 3 });
  const x = randTensor(new Rng(5), [8, 256, 256]);

  it('creates no thread per call, sync or async', async () => {
    await mha.forwardAsync(x, x, x);  // warm-up: libuv's own pool and ours start here
    mha.forward(x, x, x);
    const before = threadCount();
    for (let i = 0; i < 20; i++) mha.forward(x, x, x);
    await Promise.all(Array.from({ length: 16 }, () => mha.forwardAsync(x, x, x, { isCausal: true })));
    expect(threadCount()).toBe(before);
  });

  it('holds setNumThreads(n) worker threads, resized at the next call', async () => {
    setNumThreads(2);
    mha.forward(x, x, x);
    const withTwo = threadCount();
    setNumThreads(5);
    expect(getNumThreads()).toBe(5);
    mha.forward(x, x, x);
    expect(threadCount()).toBe(withTwo + 3);
    setNumThreads(1);
    await mha.forwardAsync(x, x, x);
    expect(threadCount()).toBe(withTwo - 1);
  });
});
