// The TypeScript reference's arithmetic: plain loops, float64 accumulation and intermediates,
// written to be obviously correct rather than fast. It executes the backend contract's records
// (backend.ts; reference-backend.ts binds them) and reads masks through the same views as the
// native kernels (masks.ts).
import type { AttentionArgs, ForwardArgs, LayerDesc, LayerOutputs, MaskView, MatmulArgs, SoftmaxArgs } from './backend.js';
import { maskBias, type MaskSet } from './masks.js';

/** Softmax of one row in place; -Infinity entries are blocked (0); a fully blocked row is all zeros. */
function softmaxInPlace(row: Float64Array): void {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  if (max === -Infinity) {
    row.fill(0);
    return;
  }
  let sum = 0;
  for (let j = 0; j < row.length; j++) {
    row[j] = Math.exp(row[j] - max);
    sum += row[j];
  }
  for (let j = 0; j < row.length; j++) row[j] /= sum;
}

/** C[i] = alpha * op(A[i]) * op(B[i]); op(B) is shared when !bBatched. */
export function referenceMatmul(args: MatmulArgs): void {
  const { a, b, out, batch, m, n, k, transA, transB, alpha, bBatched } = args;
  for (let i = 0; i < batch; i++) {
    const aBase = i * m * k;
    const bBase = bBatched ? i * k * n : 0;
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < n; c++) {
        let acc = 0;
        for (let p = 0; p < k; p++) {
          const av = transA ? a[aBase + p * m + r] : a[aBase + r * k + p];
          const bv = transB ? b[bBase + c * k + p] : b[bBase + p * n + c];
          acc += av * bv;
        }
        out[i * m * n + r * n + c] = alpha * acc;
      }
    }
  }
}

/** out = softmax(scale * x + masks) over the last dim of x [batch, heads, l, s]. */
export function referenceMaskedSoftmax(args: SoftmaxArgs): void {
  const { x, out, batch, heads, l: L, s: S, scale } = args;
  const masks: MaskSet = { attnMask: args.attnMask, keyPadding: args.keyPadding, causal: args.causal };
  const row = new Float64Array(S);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let l = 0; l < L; l++) {
        const base = ((b * heads + h) * L + l) * S;
        for (let s = 0; s < S; s++) {
          const bias = maskBias(masks, L, S, b, h, l, s);
          row[s] = bias === -Infinity ? -Infinity : scale * x[base + s] + bias;
        }
        softmaxInPlace(row);
        for (let s = 0; s < S; s++) out[base + s] = row[s];
      }
    }
  }
}

/** A 4-d view (b, h, row, i): element at b*sb + h*sh + row*sr + i (the last dim contiguous). */
export interface Strided { data: ArrayLike<number>; sb: number; sh: number; sr: number }

interface AttentionSizes { batch: number; heads: number; l: number; s: number; d: number; dv: number }

/**
 * out[b,h,l,:] = sum_s P[b,h,l,s] * v[b,h,s,:] with P = masked softmax(scale * q.k^T);
 * writes P into probs ([B, H, L, S]) when given.
 */
function attend(dims: AttentionSizes, q: Strided, k: Strided, v: Strided,
  out: Strided & { data: Float32Array | Float64Array }, scale: number, masks: MaskSet, probs?: Float64Array): void {
  const { batch, heads, l: L, s: S, d: D, dv: Dv } = dims;
  const row = new Float64Array(S);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let l = 0; l < L; l++) {
        const qBase = b * q.sb + h * q.sh + l * q.sr;
        for (let s = 0; s < S; s++) {
          const bias = maskBias(masks, L, S, b, h, l, s);
          if (bias === -Infinity) {
            row[s] = -Infinity;
            continue;
          }
          const kBase = b * k.sb + h * k.sh + s * k.sr;
          let dot = 0;
          for (let i = 0; i < D; i++) dot += q.data[qBase + i] * k.data[kBase + i];
          row[s] = scale * dot + bias;
        }
        softmaxInPlace(row);
        if (probs) probs.set(row, ((b * heads + h) * L + l) * S);
        const oBase = b * out.sb + h * out.sh + l * out.sr;
        for (let i = 0; i < Dv; i++) {
          let acc = 0;
          for (let s = 0; s < S; s++) acc += row[s] * v.data[b * v.sb + h * v.sh + s * v.sr + i];
          out.data[oBase + i] = acc;
        }
      }
    }
  }
}

/** Scaled dot-product attention over contiguous q [B,H,L,D], k [B,H,S,D], v [B,H,S,Dv]. */
export function referenceAttention(args: AttentionArgs): void {
  const { batch, heads, l: L, s: S, d: D, dv: Dv } = args;
  const view = (data: ArrayLike<number>, rows: number, width: number): Strided =>
    ({ data, sb: heads * rows * width, sh: rows * width, sr: width });
  const out = { ...view(args.out, L, Dv), data: args.out };
  attend({ batch, heads, l: L, s: S, d: D, dv: Dv }, view(args.q, L, D), view(args.k, S, D), view(args.v, S, Dv),
    out, args.scale, { attnMask: args.attnMask, keyPadding: args.keyPadding, causal: args.causal });
}

/** y[r, o] = sum_i x[r, i] * w[o, i] + bias[o]  (torch.nn.Linear), in float64. */
export function linear(x: ArrayLike<number>, rows: number, inDim: number, w: Float32Array, outDim: number,
  bias: Float32Array | undefined): Float64Array {
  const y = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outDim; o++) {
      let acc = bias ? bias[o] : 0;
      for (let i = 0; i < inDim; i++) acc += x[r * inDim + i] * w[o * inDim + i];
      y[r * outDim + o] = acc;
    }
  }
  return y;
}

/** What attendAndProject writes: out [B, L, E] and optionally the probabilities (see below). */
export interface AttendOutputs extends LayerOutputs {
  attnMask?: MaskView; keyPadding?: MaskView; causal: boolean;
}

/**
 * Attention of projected queries q ([B, L, E], head h = columns h*D..) over keys/values k, v
 * (any strided layout holding S positions), concatenation of the heads, the output projection
 * into args.out [B, L, E] and, when args.weights is given, the probabilities averaged over
 * heads [B, L, S] or per head [B, H, L, S].
 */
export function attendAndProject(w: LayerDesc, B: number, L: number, S: number, q: Float64Array,
  k: Strided, v: Strided, args: AttendOutputs): void {
  const { embedDim: E, numHeads: H } = w;
  const D = E / H;
  const context = new Float64Array(B * L * E);
  const probs = args.weights ? new Float64Array(B * H * L * S) : undefined;
  const qHeads: Strided = { data: q, sb: L * E, sh: D, sr: E };
  attend({ batch: B, heads: H, l: L, s: S, d: D, dv: D }, qHeads, k, v,
    { data: context, sb: L * E, sh: D, sr: E }, 1 / Math.sqrt(D),
    { attnMask: args.attnMask, keyPadding: args.keyPadding, causal: args.causal }, probs);
  args.out.set(linear(context, B * L, E, w.outWeight, E, w.outBias));
  if (args.weights && probs) {
    if (!args.averageWeights) {
      args.weights.set(probs);
      return;
    }
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < L * S; i++) {
        let sum = 0;
        for (let h = 0; h < H; h++) sum += probs[(b * H + h) * L * S + i];
        args.weights[b * L * S + i] = sum / H;
      }
    }
  }
}

/**
 * The multi-head attention forward (batch-first, PyTorch semantics): project q/k/v, attend per
 * head with scale 1/sqrt(headDim), concatenate the heads, project the output (attendAndProject).
 */
export function referenceMultiHeadAttention(w: LayerDesc, args: ForwardArgs): void {
  const { embedDim: E, numHeads: H, kDim, vDim } = w;
  const { batch: B, l: L, s: S } = args;
  const D = E / H;
  const q = linear(args.query, B * L, E, w.qWeight, E, w.qBias);
  const k = linear(args.key, B * S, kDim, w.kWeight, E, w.kBias);
  const v = linear(args.value, B * S, vDim, w.vWeight, E, w.vBias);
  // Head h of a [B, S, E] projection is columns h*D .. h*D+D-1.
  const heads = (data: Float64Array): Strided => ({ data, sb: S * E, sh: D, sr: E });
  attendAndProject(w, B, L, S, q, heads(k), heads(v), args);
}
