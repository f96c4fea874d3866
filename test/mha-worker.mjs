// Worker for test/workers.test.ts: loads the package entry (compiled dist/) in a worker thread.
// workerData.mode 'forward': run forward `repeat` times on the given inputs, post the last output.
// workerData.mode 'hang-async': start a long forwardAsync, post 'started', and await it.
import { parentPort, workerData } from 'node:worker_threads';
import { MultiHeadAttention } from 'mha-native';

const { mode, model, query, repeat } = workerData;
const mha = new MultiHeadAttention(model);
const x = { data: query.data, shape: query.shape };

if (mode === 'forward') {
  let output;
  for (let i = 0; i < repeat; i++) output = mha.forward(x, x, x, { isCausal: true }).output;
  parentPort.postMessage({ data: output.data, shape: output.shape });
} else if (mode === 'hang-async') {
  const pending = mha.forwardAsync(x, x, x, { isCausal: true });
  parentPort.postMessage('started');
  await pending;
  parentPort.postMessage('finished');
} else {
  throw new Error(`unknown mode ${mode}`);
}
