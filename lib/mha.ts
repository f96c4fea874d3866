// MultiHeadAttention: torch.nn.MultiheadAttention (batch-first) over the native addon, whose
// Model packs the weights once at construction, or over the TypeScript reference.
import { addon, type NativeForwardArgs, type NativeModelWeights } from './addon.js';
import { defaultWeights } from './init.js';
import { attnMaskDescriptor, keyPaddingDescriptor } from './masks.js';
import type {
  AttentionResult, Backend, ForwardOptions, MultiHeadAttentionOptions, MultiHeadAttentionWeights, StateDictOptions,
} from './mha-types.js';
import { referenceMultiHeadAttention } from './reference.js';
import { stateDictOptions } from './state-dict.js';
import type { Tensor } from './tensor.js';
import {
  checkBoolean, checkElementCount, checkFloat32Array, checkObject, checkOneOf, checkOptions, checkPositiveInteger,
  checkShape, checkTensor, invalidParameterError, shapesEqual,
} from './validate.js';

/** query, key and value are one tensor (fused QKV projection): the same object or the same memory and shape. */
function sameTensor(a: Tensor, b: Tensor): boolean {
  return a === b || (a.data.buffer === b.data.buffer && a.data.byteOffset === b.data.byteOffset
    && a.data.length === b.data.length && shapesEqual(a.shape, b.shape));
}

function checkSeed(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number') throw invalidParameterError('options.seed', 'an integer', value, TypeError);
  if (!Number.isSafeInteger(value)) throw invalidParameterError('options.seed', 'a safe integer', value);
  return value;
}

/** The user's weights, validated (missing biases are zeros when options.bias is true). */
function checkWeights(value: unknown, E: number, kDim: number, vDim: number, bias: boolean): MultiHeadAttentionWeights {
  const w = checkObject('options.weights', value);
  const matrix = (key: string, rows: number, cols: number, dims: string) =>
    checkFloat32Array(`options.weights.${key}`, w[key], rows * cols, `${dims} = [${rows}, ${cols}]`);
  const weights: MultiHeadAttentionWeights = {
    qWeight: matrix('qWeight', E, E, '[E, E]'),
    kWeight: matrix('kWeight', E, kDim, '[E, kDim]'),
    vWeight: matrix('vWeight', E, vDim, '[E, vDim]'),
    outWeight: matrix('outWeight', E, E, '[E, E]'),
  };
  for (const key of ['qBias', 'kBias', 'vBias', 'outBias'] as const) {
    const name = `options.weights.${key}`;
    if (!bias) {
      if (w[key] !== undefined) throw invalidParameterError(name, 'undefined (options.bias is false)', w[key], TypeError);
      continue;
    }
    weights[key] = w[key] === undefined ? new Float32Array(E) : checkFloat32Array(name, w[key], E, `[E] = [${E}]`);
  }
  return weights;
}

function copyWeights(w: MultiHeadAttentionWeights): MultiHeadAttentionWeights {
  const copy = (a: Float32Array | undefined) => a?.slice();
  return {
    qWeight: w.qWeight.slice(), kWeight: w.kWeight.slice(), vWeight: w.vWeight.slice(), outWeight: w.outWeight.slice(),
    qBias: copy(w.qBias), kBias: copy(w.kBias), vBias: copy(w.vBias), outBias: copy(w.outBias),
  };
}

export class MultiHeadAttention {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly kDim: number;
  readonly vDim: number;
  readonly backend: Backend;
  /** Runs a validated forward call on this layer's backend (filling args.out / args.weights). */
  readonly #run: (args: NativeForwardArgs) => void;
  readonly #runAsync: (args: NativeForwardArgs) => Promise<void>;

  constructor(options: MultiHeadAttentionOptions) {
    const opts = checkObject('options', options);
    const E = checkPositiveInteger('options.embedDim', opts.embedDim);
    const H = checkPositiveInteger('options.numHeads', opts.numHeads);
    if (E % H !== 0) throw invalidParameterError('options.numHeads', `a divisor of embedDim (${E})`, H);
    const kDim = opts.kDim === undefined ? E : checkPositiveInteger('options.kDim', opts.kDim);
    const vDim = opts.vDim === undefined ? E : checkPositiveInteger('options.vDim', opts.vDim);
    const bias = checkBoolean('options.bias', opts.bias, true);
    const seed = checkSeed(opts.seed);
    this.backend = checkOneOf('options.backend', opts.backend, ['native', 'reference'] as const, 'native');
    checkElementCount('qWeight ([E, E])', [E, E]);
    checkElementCount('kWeight ([E, kDim])', [E, kDim]);
    checkElementCount('vWeight ([E, vDim])', [E, vDim]);
    const weights = opts.weights === undefined
      ? defaultWeights(E, kDim, vDim, bias, seed)
      : checkWeights(opts.weights, E, kDim, vDim, bias);

    this.embedDim = E;
    this.numHeads = H;
    this.headDim = E / H;
    this.kDim = kDim;
    this.vDim = vDim;
    // Either way the layer owns its weights: later changes to the caller's arrays do not affect it.
    if (this.backend === 'native') {
      const model = new (addon().Model)({ embedDim: E, numHeads: H, kDim, vDim, ...weights }); // copies and packs them
      this.#run = (args) => model.forward(args);
      this.#runAsync = (args) => model.forwardAsync(args);
    } else {
      const own: NativeModelWeights = { embedDim: E, numHeads: H, kDim, vDim, ...copyWeights(weights) };
      this.#run = (args) => referenceMultiHeadAttention(own, args);
      this.#runAsync = (args) => Promise.resolve(this.#run(args));
    }
  }

  /** A layer from a PyTorch nn.MultiheadAttention state_dict (see state-dict.ts for the keys). */
  static fromStateDict(state: Record<string, Float32Array | Tensor>, options: StateDictOptions): MultiHeadAttention {
    return new MultiHeadAttention(stateDictOptions(state, options));
  }

  forward(query: Tensor, key: Tensor, value: Tensor, options?: ForwardOptions): AttentionResult {
    const { args, result } = this.#forwardArgs(query, key, value, options);
    this.#run(args);
    return result;
  }

  /** Validates synchronously (a bad argument rejects the promise); inputs may change once it returns. */
  forwardAsync(query: Tensor, key: Tensor, value: Tensor, options?: ForwardOptions): Promise<AttentionResult> {
    try {
      const { args, result } = this.#forwardArgs(query, key, value, options);
      return this.#runAsync(args).then(() => result);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The validated call as the addon's argument record, and the result its buffers become. */
  #forwardArgs(query: Tensor, key: Tensor, value: Tensor, options: ForwardOptions | undefined):
    { args: NativeForwardArgs; result: AttentionResult } {
    const { embedDim: E, numHeads: H, kDim, vDim } = this;
    const q = checkTensor('query', query, 3, '[B, L, E]');
    const k = checkTensor('key', key, 3, '[B, S, kDim]');
    const v = checkTensor('value', value, 3, '[B, S, vDim]');
    const [B, L] = q.shape;
    const S = k.shape[1];
    checkShape('query', q.shape, [B, L, E], '[B, L, E]');
    checkShape('key', k.shape, [B, S, kDim], '[B, S, kDim]');
    checkShape('value', v.shape, [B, S, vDim], '[B, S, vDim]');
    checkElementCount('key projected to [B, S, E]', [B, S, E]);

    const opts = checkOptions('options', options);
    const dims = { batch: B, heads: H, l: L, s: S };
    const keyPadding = keyPaddingDescriptor('options.keyPaddingMask', opts.keyPaddingMask, dims);
    const attnMask = attnMaskDescriptor('options.attnMask', opts.attnMask, dims);
    const causal = checkBoolean('options.isCausal', opts.isCausal, false);
    const needWeights = checkBoolean('options.needWeights', opts.needWeights, false);
    const averageWeights = checkBoolean('options.averageAttnWeights', opts.averageAttnWeights, true);

    const outShape = [B, L, E];
    const weightsShape = averageWeights ? [B, L, S] : [B, H, L, S];
    const out = new Float32Array(checkElementCount('output', outShape));
    const weights = needWeights ? new Float32Array(checkElementCount('attnWeights', weightsShape)) : undefined;
    const args: NativeForwardArgs = {
      query: q.data, key: k.data, value: v.data, batch: B, l: L, s: S,
      selfAttention: sameTensor(query, key) && sameTensor(query, value),
      attnMask, keyPadding, causal, out, weights, averageWeights,
    };
    const result: AttentionResult = { output: { data: out, shape: outShape } };
    if (weights) result.attnWeights = { data: weights, shape: weightsShape };
    return { args, result };
  }
}
