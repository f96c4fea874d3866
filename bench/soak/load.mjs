// HTTP load: starts examples/service.mjs on 127.0.0.1 (a child process, any free port) and runs
// autocannon against POST /attend (self-attention), with and without the dynamic batcher, for two
// request sizes: W4 (L=32, E=256, H=4: JSON-bound, the batcher has little to gain) and short
// sequences of a BERT-base layer (L=2, E=768, H=12: weight-bandwidth-bound alone, where batching
// reads the weights once per batch). Reports requests/s and latency. Passes (exit 0) when every
// run answered every request with 200 and the right output shape.
//   node bench/soak/load.mjs [--quick]   (--quick: 3 s per run instead of 10 s; needs dist/ and the addon)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { machine } from './workloads.mjs';

const SECONDS = process.argv.includes('--quick') ? 3 : 10;
const CONNECTIONS = 32;
const SHAPES = [{ name: 'W4', L: 32, E: 256, H: 4 }, { name: 'short', L: 2, E: 768, H: 12 }];
const service = fileURLToPath(new URL('../../examples/service.mjs', import.meta.url));

/** Starts the service with the given env; resolves with the child and its base URL. */
async function startService(env) {
  const child = spawn(process.execPath, [service], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  for await (const chunk of child.stdout) {
    out += chunk;
    const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
    if (match) return { child, url: match[1] };
  }
  throw new Error(`service exited before listening: ${out}`);
}

async function checkOne(url, body, L, E) {
  const response = await fetch(`${url}/attend`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const json = await response.json();
  return response.status === 200 && json.output.length === L && json.output.every((row) => row.length === E);
}

async function measure({ name, L, E, H }, batcher) {
  const query = Array.from({ length: L }, (_, i) => Array.from({ length: E }, (_, j) => Math.sin(i * E + j)));
  const body = JSON.stringify({ query });
  const label = `${name} [${L}, ${E}] batcher ${batcher ? 'on' : 'off'}`;
  const { child, url } = await startService({ EMBED_DIM: String(E), NUM_HEADS: String(H), BATCHER: batcher ? '1' : '0' });
  try {
    const correct = await checkOne(url, body, L, E);
    const result = await autocannon({
      url: `${url}/attend`, method: 'POST', headers: { 'content-type': 'application/json' }, body,
      connections: CONNECTIONS, duration: SECONDS,
    });
    const ok = correct && result.errors === 0 && result.timeouts === 0 && result.non2xx === 0 && result.requests.total > 0;
    console.log(`${label.padEnd(28)} ${result.requests.average.toFixed(1).padStart(8)} req/s  ` +
      `latency p50 ${String(result.latency.p50).padStart(5)} ms  p99 ${String(result.latency.p99).padStart(5)} ms  ` +
      `(${result.requests.total} requests, ${result.errors} errors, ${result.non2xx} non-2xx) ${ok ? '' : 'FAIL'}`);
    return ok;
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}

console.log(machine());
console.log(`POST /attend (self-attention), ${CONNECTIONS} connections, ${SECONDS} s per run, 127.0.0.1`);
let ok = true;
for (const shape of SHAPES) {
  for (const batcher of [true, false]) ok = (await measure(shape, batcher)) && ok;
}
console.log(ok ? 'PASS' : 'FAIL');
process.exit(ok ? 0 : 1);
