// Dynamic batching for serving: concurrent single-sequence requests to one layer are merged
// into one forwardAsync call and the results split back.
//
// A request is one sequence: query [1, L, E], key [1, S, kDim], value [1, S, vDim], with the
// usual ForwardOptions (masks with B = 1). Requests go into groups; a group is one call.
//
// Packed groups: a request with no attnMask, no keyPaddingMask and no
// needWeights is packed. Its tokens go back to back with the group's other requests into one
// packed call, query [T, E] with sequenceLengths (and key [Tk, kDim] / value [Tk, vDim] with
// kvSequenceLengths for cross-attention); the output [T, E] is cut back into each request's
// rows. Nothing is padded, so short requests cost only their own tokens, and every position-
// dependent option of the layer (rotary, ALiBi, window) and isCausal apply per sequence
// exactly as for the request alone. Packed groups are keyed by self-attention (query, key and
// value the same Float32Array, which keeps the fused QKV projection) or not, and by isCausal:
// a packed call has one isCausal for all its sequences.
// A mask whose every entry is 0 blocks and adds nothing, so it is dropped first: such a
// request packs too.
//
// Padded groups (requests with a mask or needWeights): packed calls take neither masks nor
// weights, so these requests are stacked into a dense [B, Lmax, E] call. Keyed by
// self-attention or not, needWeights / averageAttnWeights, and S - L:
// - query, key and value are zero-padded to the group's longest L and S; a keyPaddingMask
//   [B, Smax] blocks the padded keys (and carries each request's own keyPaddingMask);
//   padded query rows are dropped when the result is split;
// - query positions are bottom-right aligned (pq = i + S - L, for isCausal and for the layer's
//   rotary, ALiBi and window), so only requests with the same S - L keep their positions
//   when padded to one Lmax and Smax: hence S - L in the key (self-attention: always 0);
// - isCausal is passed on as isCausal when every request of the group is causal; otherwise
//   each causal request's mask is written into an explicit attnMask [B, 1|H, Lmax, Smax]
//   together with each request's own attnMask (additive when any of them is additive);
// - attention weights are sliced back to [1, L, S] or [1, H, L, S].
//
// Requests the batcher cannot merge (another shape, an unknown option such as a KV cache,
// anything that fails validation) run alone through forwardAsync, so a bad request gets the
// layer's own error and rejects alone. Inputs are copied when run() is called: the caller may
// reuse or detach its buffers immediately.
import type { MaskView } from './backend.js';
import type { ForwardOptions } from './mha-types.js';
import { attnMaskDescriptor, causalBlocked, keyPaddingDescriptor } from './masks.js';
import type { AttentionResult, Mask, Tensor } from './types.js';
import {
  checkBoolean, checkFiniteNumber, checkOptions, checkPositiveInteger, checkTensor, invalidParameterError, MAX_ELEMENTS,
} from './validate.js';

/** What the batcher needs from a layer (MultiHeadAttention, either backend): forwardAsync on
 * dense [B, L, E] inputs and on packed [T, E] ones (options.sequenceLengths). */
export interface BatchableLayer {
  readonly embedDim: number; readonly numHeads: number; readonly kDim: number; readonly vDim: number;
  forwardAsync(query: Tensor, key: Tensor, value: Tensor, options?: ForwardOptions): Promise<AttentionResult>;
}

export interface BatcherOptions {
  maxBatchSize?: number; // default 16: a group is sent as soon as it holds this many requests
  maxDelayMs?: number;   // default 2: or when its first request has waited this long (0: next turn of the event loop)
}

export interface Batcher {
  /** One sequence: query [1, L, E], key [1, S, kDim], value [1, S, vDim]; masks with B = 1. */
  run(query: Tensor, key: Tensor, value: Tensor, options?: ForwardOptions): Promise<AttentionResult>;
  /** Sends every waiting request now; resolves when every request sent so far has settled. */
  flush(): Promise<void>;
  /** Rejects later run() calls, then flushes. */
  close(): Promise<void>;
  /** Requests waiting to be sent. */
  readonly pending: number;
}

type WeightsKind = 'none' | 'average' | 'perHead';

interface Request {
  l: number; s: number;
  self: boolean;
  query: Float32Array; key: Float32Array; value: Float32Array; // private copies
  keyPadding?: MaskView; attnMask?: MaskView;              // private copies, strides for b = 0
  causal: boolean;
  weights: WeightsKind;
  resolve(result: AttentionResult): void;
  reject(error: unknown): void;
}

/** A group's requests, all sent in one call: packed (no masks, no weights) or padded. */
interface Group {
  packed: boolean;
  requests: Request[];
  l: number; s: number;   // the longest L and S (what a padded call pads to)
  t: number; tk: number;  // the sums of L and S (a packed call's T and Tk)
  cancelTimer(): void;
}

const BATCHABLE_OPTIONS = new Set(['keyPaddingMask', 'attnMask', 'isCausal', 'needWeights', 'averageAttnWeights']);

export function createBatcher(layer: BatchableLayer, options: BatcherOptions = {}): Batcher {
  const opts = checkOptions('options', options);
  const maxBatchSize = opts.maxBatchSize === undefined ? 16 : checkPositiveInteger('options.maxBatchSize', opts.maxBatchSize);
  const maxDelayMs = checkFiniteNumber('options.maxDelayMs', opts.maxDelayMs, 2);
  if (maxDelayMs < 0) throw invalidParameterError('options.maxDelayMs', 'a number >= 0', maxDelayMs);
  const { embedDim: E, numHeads: H, kDim, vDim } = layer;

  const groups = new Map<string, Group>();
  const inFlight = new Set<Promise<void>>();
  let closed = false;

  /** Calls fn after maxDelayMs; returns its cancel function. */
  function startTimer(fn: () => void): () => void {
    if (maxDelayMs === 0) {
      const immediate = setImmediate(fn);
      return () => clearImmediate(immediate);
    }
    const timeout = setTimeout(fn, maxDelayMs);
    return () => clearTimeout(timeout);
  }

  function send(key: string): void {
    const group = groups.get(key);
    if (!group) return;
    groups.delete(key);
    group.cancelTimer();
    const done = dispatch(layer, group).finally(() => inFlight.delete(done));
    inFlight.add(done);
  }

  /** Whether adding request keeps every tensor of the group's call within MAX_ELEMENTS. */
  function fits(group: Group, request: Request): boolean {
    if (group.packed) {
      const T = group.t + request.l, Tk = group.tk + request.s;
      return T * E <= MAX_ELEMENTS && Tk * Math.max(E, kDim, vDim) <= MAX_ELEMENTS;
    }
    const B = group.requests.length + 1, L = Math.max(group.l, request.l), S = Math.max(group.s, request.s);
    return B * L * Math.max(E, S * H) <= MAX_ELEMENTS && B * S * Math.max(E, kDim, vDim) <= MAX_ELEMENTS;
  }

  function enqueue(request: Request): void {
    const packed = packable(request);
    const attention = request.self ? 'self' : 'cross';
    const key = packed ? `packed/${attention}/${request.causal ? 'causal' : 'full'}`
      : `padded/${attention}/${request.weights}/${request.s - request.l}`;
    let group = groups.get(key);
    if (group && !fits(group, request)) { send(key); group = undefined; }
    if (!group) {
      group = { packed, requests: [], l: 0, s: 0, t: 0, tk: 0, cancelTimer: startTimer(() => send(key)) };
      groups.set(key, group);
    }
    group.requests.push(request);
    group.l = Math.max(group.l, request.l);
    group.s = Math.max(group.s, request.s);
    group.t += request.l;
    group.tk += request.s;
    if (group.requests.length >= maxBatchSize) send(key);
  }

  async function flush(): Promise<void> {
    for (const key of [...groups.keys()]) send(key);
    await Promise.allSettled([...inFlight]);
  }

  return {
    run(query, key, value, options) {
      if (closed) return Promise.reject(new Error('batcher is closed'));
      let prepared: Omit<Request, 'resolve' | 'reject'>;
      try {
        prepared = prepare(E, H, kDim, vDim, query, key, value, options);
      } catch {
        return layer.forwardAsync(query, key, value, options); // rejects with the layer's own error
      }
      return new Promise<AttentionResult>((resolve, reject) => enqueue({ ...prepared, resolve, reject }));
    },
    flush,
    async close() {
      closed = true;
      await flush();
    },
    get pending() {
      let n = 0;
      for (const group of groups.values()) n += group.requests.length;
      return n;
    },
  };
}

/** Validates one request as batchable and copies its inputs; throws when it is not. */
function prepare(E: number, H: number, kDim: number, vDim: number,
  query: Tensor, key: Tensor, value: Tensor, options: ForwardOptions | undefined): Omit<Request, 'resolve' | 'reject'> {
  const opts = checkOptions('options', options);
  for (const name of Object.keys(opts)) {
    if (opts[name] !== undefined && !BATCHABLE_OPTIONS.has(name)) throw new TypeError(`options.${name} is not batchable`);
  }
  const q = checkTensor('query', query, 3, '[1, L, E]');
  const k = checkTensor('key', key, 3, '[1, S, kDim]');
  const v = checkTensor('value', value, 3, '[1, S, vDim]');
  const [qb, l, qe] = q.shape, [kb, s, ke] = k.shape, [vb, vs, ve] = v.shape;
  if (qb !== 1 || kb !== 1 || vb !== 1 || qe !== E || ke !== kDim || ve !== vDim || vs !== s) {
    throw new RangeError('not a single sequence of this layer');
  }
  const dims = { batch: 1, heads: H, l, s };
  const keyPadding = blocksSomething(keyPaddingDescriptor('options.keyPaddingMask', opts.keyPaddingMask, dims));
  const attnMask = blocksSomething(attnMaskDescriptor('options.attnMask', opts.attnMask, dims));
  const causal = checkBoolean('options.isCausal', opts.isCausal, false);
  const needWeights = checkBoolean('options.needWeights', opts.needWeights, false);
  const average = checkBoolean('options.averageAttnWeights', opts.averageAttnWeights, true);
  const self = q.data === k.data && q.data === v.data;
  const queryCopy = q.data.slice();
  return {
    l, s, self, causal,
    query: queryCopy,
    key: self ? queryCopy : k.data.slice(),
    value: self ? queryCopy : v.data.slice(),
    keyPadding: keyPadding && { data: keyPadding.data.slice(), strides: keyPadding.strides },
    attnMask: attnMask && { data: attnMask.data.slice(), strides: attnMask.strides },
    weights: !needWeights ? 'none' : average ? 'average' : 'perHead',
  };
}


/** A mask, or undefined when every entry is 0: boolean 0 blocks nothing and additive 0 adds
 * nothing, so the call is exactly the same without it (and such a request can be packed). */
function blocksSomething(mask: MaskView | undefined): MaskView | undefined {
  return mask && mask.data.some((x) => x !== 0) ? mask : undefined;
}

/** Whether a request can go into a packed call: packed calls take no masks and return no weights. */
function packable(r: Request): boolean {
  return !r.keyPadding && !r.attnMask && r.weights === 'none';
}

/** One forwardAsync for a group; settles every request's promise. */
async function dispatch(layer: BatchableLayer, { packed, requests, l, s }: Group): Promise<void> {
  try {
    const results = packed ? await forwardPacked(layer, requests) : await forwardBatch(layer, requests, l, s);
    requests.forEach((r, b) => r.resolve(results[b]));
  } catch (error) {
    for (const r of requests) r.reject(error);
  }
}

/**
 * requests (each without masks or weights, all causal or none) back to back, as one packed
 * forwardAsync call; each request's output rows.
 */
async function forwardPacked(layer: BatchableLayer, requests: Request[]): Promise<AttentionResult[]> {
  const { embedDim: E, kDim, vDim } = layer;
  const query = concat(requests.map((r) => r.query), E);
  const self = requests[0].self;
  const options: ForwardOptions = { sequenceLengths: requests.map((r) => r.l), isCausal: requests[0].causal };
  if (!self) options.kvSequenceLengths = requests.map((r) => r.s);
  const key = self ? query : concat(requests.map((r) => r.key), kDim);
  const value = self ? query : concat(requests.map((r) => r.value), vDim);
  const { output } = await layer.forwardAsync(query, key, value, options);
  let row = 0;
  return requests.map((r) => {
    const data = output.data.slice(row * E, (row + r.l) * E);
    row += r.l;
    return { output: { data, shape: [1, r.l, E] } };
  });
}

/** Sequences [n_b, width] back to back -> [sum n_b, width]. */
function concat(parts: Float32Array[], width: number): Tensor {
  const data = new Float32Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) { data.set(part, at); at += part.length; }
  return { data, shape: [data.length / width, width] };
}

/** requests padded to L and S (their longest), as one forwardAsync call; each request's result. */
async function forwardBatch(layer: BatchableLayer, requests: Request[], L: number, S: number): Promise<AttentionResult[]> {
  const { embedDim: E, numHeads: H, kDim, vDim } = layer;
  const B = requests.length;
  const query = stack(requests.map((r) => r.query), B, L, E);
  const self = requests[0].self;
  const key = self ? query : stack(requests.map((r) => r.key), B, S, kDim);
  const value = self ? query : stack(requests.map((r) => r.value), B, S, vDim);

  const nativeCausal = requests.every((r) => r.causal); // one S - L per group (enqueue's key)
  const options: ForwardOptions = {
    keyPaddingMask: batchKeyPadding(requests, S),
    attnMask: batchAttnMask(requests, H, L, S, !nativeCausal),
    isCausal: nativeCausal,
    needWeights: requests[0].weights !== 'none',
    averageAttnWeights: requests[0].weights === 'average',
  };
  const result = await layer.forwardAsync(query, key, value, options);

  return requests.map((r, b) => {
    const output = { data: result.output.data.slice(b * L * E, (b * L + r.l) * E), shape: [1, r.l, E] };
    if (!result.attnWeights) return { output };
    const heads = r.weights === 'perHead' ? H : 1;
    const weights = new Float32Array(heads * r.l * r.s);
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < r.l; i++) {
        const from = ((b * heads + h) * L + i) * S;
        weights.set(result.attnWeights.data.subarray(from, from + r.s), (h * r.l + i) * r.s);
      }
    }
    const shape = r.weights === 'perHead' ? [1, H, r.l, r.s] : [1, r.l, r.s];
    return { output, attnWeights: { data: weights, shape } };
  });
}

/** Sequences [n_b, width] -> zero-padded [B, rows, width]. */
function stack(parts: Float32Array[], B: number, rows: number, width: number): Tensor {
  const data = new Float32Array(B * rows * width);
  parts.forEach((part, b) => data.set(part, b * rows * width));
  return { data, shape: [B, rows, width] };
}

/** [B, Smax]: each request's own key padding, and its padded keys blocked; undefined if nothing is blocked. */
function batchKeyPadding(requests: Request[], S: number): Mask | undefined {
  if (requests.every((r) => r.s === S && !r.keyPadding)) return undefined;
  const additive = requests.some((r) => r.keyPadding?.data instanceof Float32Array);
  const data = additive ? new Float32Array(requests.length * S) : new Uint8Array(requests.length * S);
  const blocked = additive ? -Infinity : 1;
  requests.forEach((r, b) => {
    for (let j = 0; j < S; j++) {
      data[b * S + j] = j >= r.s ? blocked : r.keyPadding ? maskValue(r.keyPadding, 0, 0, j, additive) : 0;
    }
  });
  return { data, shape: [requests.length, S] };
}

/**
 * [B, 1 or H, Lmax, Smax]: each request's own attnMask, plus its causal mask when
 * explicitCausal; undefined when there is neither. Padded rows and columns stay 0 (padded keys
 * are blocked by the key padding mask, padded query rows are dropped).
 */
function batchAttnMask(requests: Request[], H: number, L: number, S: number, explicitCausal: boolean): Mask | undefined {
  const causal = (r: Request) => explicitCausal && r.causal;
  if (!requests.some((r) => r.attnMask || causal(r))) return undefined;
  const heads = requests.some((r) => r.attnMask && r.attnMask.strides[1] !== 0) ? H : 1;
  const additive = requests.some((r) => r.attnMask?.data instanceof Float32Array);
  const B = requests.length;
  const data = additive ? new Float32Array(B * heads * L * S) : new Uint8Array(B * heads * L * S);
  requests.forEach((r, b) => {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < r.l; i++) {
        const row = ((b * heads + h) * L + i) * S;
        for (let j = 0; j < r.s; j++) {
          if (causal(r) && causalBlocked(i, j, r.l, r.s)) data[row + j] = additive ? -Infinity : 1;
          else if (r.attnMask) data[row + j] = maskValue(r.attnMask, h, i, j, additive);
        }
      }
    }
  });
  return { data, shape: [B, heads, L, S] };
}

/** Element (0, h, i, j) of a request's mask, as an additive value or as boolean 0/1. */
function maskValue(mask: MaskView, h: number, i: number, j: number, additive: boolean): number {
  const [, sh, sl, ss] = mask.strides;
  const v = mask.data[h * sh + i * sl + j * ss];
  if (mask.data instanceof Uint8Array) return v !== 0 ? (additive ? -Infinity : 1) : 0;
  return v; // an additive source only ever goes into an additive batch mask
}
