// The addon in worker_threads: two workers and the main thread at once give the main thread's
// results, and terminating a worker with a forwardAsync in flight leaves the process working.
// Workers import the package entry (dist/, compiled by test/global-setup.ts).
import { Worker } from 'node:worker_threads';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { MultiHeadAttention } from '../lib/index.js';
import { Rng, expectClose, randTensor } from './helpers.js';

const workerUrl = new URL('./mha-worker.mjs', import.meta.url);

interface Out { data: Float32Array; shape: number[] }

function runWorker(workerData: object): { worker: Worker; result: Promise<Out> } {
  const worker = new Worker(workerUrl, { workerData });
  const result = new Promise<Out>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited with code ${code} before answering`)));
  });
  return { worker, result };
}

describe('worker_threads', () => {
  beforeAll(() => {
    const error = inject('distBuildError');
    if (error) throw new Error(error);
  });

  it('two workers and the main thread run forward at once with equal results', async () => {
    const model = { embedDim: 48, numHeads: 4, seed: 11 };
    const mha = new MultiHeadAttention(model);
    const inputs = [1, 2, 3].map((s) => randTensor(new Rng(s), [2, 33, 48]));
    const workers = inputs.slice(0, 2).map((query) => runWorker({ mode: 'forward', model, query, repeat: 30 }));
    // The main thread computes meanwhile.
    const mainResults = inputs.map((x) => {
      let out;
      for (let i = 0; i < 30; i++) out = mha.forward(x, x, x, { isCausal: true }).output;
      return out!;
    });
    const workerResults = await Promise.all(workers.map((w) => w.result));
    workerResults.forEach((got, i) => {
      expect(got.shape).toEqual([2, 33, 48]);
      expectClose(got.data, mainResults[i].data, `worker ${i}`, 1e-6);
    });
    await Promise.all(workers.map((w) => w.worker.terminate()));
    // The third input was only computed on the main thread: it differs from the workers'.
    expect(mainResults[2].data).not.toEqual(workerResults[0].data);
  });

  it('terminating a worker mid-forwardAsync does not take the process down', async () => {
    const model = { embedDim: 256, numHeads: 8, seed: 5 };
    const query = randTensor(new Rng(4), [2, 768, 256]);
    for (const delayMs of [0, 10]) {
      const worker = new Worker(workerUrl, { workerData: { mode: 'hang-async', model, query } });
      const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
      const messages: unknown[] = [];
      await new Promise<void>((resolve, reject) => {
        worker.on('message', (m) => { messages.push(m); resolve(); });
        worker.once('error', reject);
      });
      expect(messages[0]).toBe('started');
      await new Promise((r) => setTimeout(r, delayMs));
      await worker.terminate();
      await exited;
      if (messages.includes('finished')) console.warn(`delay ${delayMs} ms: the work finished before terminate()`);
    }
    // The main thread still works, sync and async, while or after the orphaned work completes.
    const mha = new MultiHeadAttention(model);
    const x = randTensor(new Rng(6), [1, 65, 256]);
    const want = mha.forward(x, x, x);
    const got = await mha.forwardAsync(x, x, x);
    expectClose(got.output.data, want.output.data, 'main thread after terminate', 1e-6);
    await new Promise((r) => setTimeout(r, 500)); // let any orphaned native work finish
    // And a fresh worker can still load the addon and compute.
    const small = { embedDim: 16, numHeads: 2, seed: 9 };
    const q = randTensor(new Rng(7), [1, 7, 16]);
    const fresh = runWorker({ mode: 'forward', model: small, query: q, repeat: 1 });
    const out = await fresh.result;
    await fresh.worker.terminate();
    expectClose(out.data, new MultiHeadAttention(small).forward(q, q, q, { isCausal: true }).output.data, 'fresh worker', 1e-6);
  });
});
