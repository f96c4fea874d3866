// A small HTTP attention service on 127.0.0.1 (plain node:http, no framework).
//
//   POST /attend  {"query": number[][], "key"?: number[][], "value"?: number[][], "isCausal"?: boolean}
//                 query [L, E], key [S, kDim], value [S, vDim]; without key and value: self-attention.
//                 -> {"output": number[][]}  ([L, E])
//   GET  /health  -> {"status": "ok", ...}
//
// Concurrent requests are merged by the dynamic batcher (createBatcher): their tokens go back to
// back into one packed native call (sequenceLengths), so requests of different lengths cost no
// padding; causal and non-causal requests go into separate calls.
// Environment: PORT (default 0: any free port; the chosen one is printed), EMBED_DIM (256),
// NUM_HEADS (4), SEED (1), BATCHER (1; 0 runs every request alone), MAX_BATCH_SIZE (16),
// MAX_DELAY_MS (2). Run: npm run build && node examples/service.mjs
import http from 'node:http';
import { MultiHeadAttention, createBatcher, nativeInfo } from '../dist/index.js';

const env = (name, fallback) => (process.env[name] === undefined ? fallback : Number(process.env[name]));
const embedDim = env('EMBED_DIM', 256);
const numHeads = env('NUM_HEADS', 4);
const batching = process.env.BATCHER !== '0';
const MAX_BODY_BYTES = 16 * 1024 * 1024;

const mha = new MultiHeadAttention({ embedDim, numHeads, seed: env('SEED', 1) });
const batcher = batching
  ? createBatcher(mha, { maxBatchSize: env('MAX_BATCH_SIZE', 16), maxDelayMs: env('MAX_DELAY_MS', 2) })
  : undefined;

/** A client error: its status and message go back as the response. */
class BadRequest extends Error {
  constructor(message, status = 400) { super(message); this.status = status; }
}

/** number[][] -> a [1, rows, cols] tensor. */
function matrix(name, rows) {
  if (!Array.isArray(rows) || rows.length === 0 || !Array.isArray(rows[0])) {
    throw new BadRequest(`${name}: expected a non-empty array of rows`);
  }
  const cols = rows[0].length;
  const data = new Float32Array(rows.length * cols);
  rows.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== cols) throw new BadRequest(`${name}[${i}]: expected a row of ${cols} numbers`);
    row.forEach((x, j) => {
      if (typeof x !== 'number') throw new BadRequest(`${name}[${i}][${j}]: expected a number`);
      data[i * cols + j] = x;
    });
  });
  return { data, shape: [1, rows.length, cols] };
}

async function attend(body) {
  if (body === null || typeof body !== 'object') throw new BadRequest('expected a JSON object');
  const query = matrix('query', body.query);
  if ((body.key === undefined) !== (body.value === undefined)) throw new BadRequest('give both key and value, or neither');
  const key = body.key === undefined ? query : matrix('key', body.key);
  const value = body.value === undefined ? query : matrix('value', body.value);
  const options = body.isCausal === undefined ? undefined : { isCausal: body.isCausal };
  const { output } = await (batcher ? batcher.run(query, key, value, options) : mha.forwardAsync(query, key, value, options));
  const [, L, E] = output.shape;
  return { output: Array.from({ length: L }, (_, i) => Array.from(output.data.subarray(i * E, (i + 1) * E))) };
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      if (size > MAX_BODY_BYTES) return; // already rejected; let the rest drain
      size += chunk.length;
      if (size > MAX_BODY_BYTES) reject(new BadRequest(`body larger than ${MAX_BODY_BYTES} bytes`, 413));
      else chunks.push(chunk);
    });
    let ended = false;
    req.on('end', () => { ended = true; resolve(Buffer.concat(chunks).toString('utf8')); });
    req.on('error', reject);
    req.on('close', () => { if (!ended) reject(new BadRequest('request aborted')); });
  });
}

function send(res, status, payload) {
  const body = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function handle(req, res) {
  if (req.method === 'GET' && req.url === '/health') {
    const { isa, threads } = nativeInfo();
    return send(res, 200, { status: 'ok', isa, threads, embedDim, numHeads, batcher: batching, pending: batcher?.pending ?? 0 });
  }
  if (req.method !== 'POST' || req.url !== '/attend') return send(res, 404, { error: 'not found' });
  try {
    let body;
    try {
      body = JSON.parse(await readBody(req));
    } catch (error) {
      throw error instanceof BadRequest ? error : new BadRequest(`invalid JSON: ${error.message}`);
    }
    send(res, 200, await attend(body));
  } catch (error) {
    // TypeError / RangeError: the layer rejected the input (its message names the argument).
    const status = error instanceof BadRequest ? error.status
      : error instanceof TypeError || error instanceof RangeError ? 400 : 500;
    send(res, status, { error: error.message });
  }
}

const server = http.createServer((req, res) => { handle(req, res); });
server.listen(env('PORT', 0), '127.0.0.1', () => {
  const { port } = server.address();
  console.log(`mha-native service listening on http://127.0.0.1:${port} (batcher ${batching ? 'on' : 'off'}, E=${embedDim}, H=${numHeads})`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    (batcher ? batcher.close() : Promise.resolve()).then(() => process.exit(0));
  });
}
