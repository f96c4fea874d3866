// The TypeScript reference's functional ops: plain loops, float64 accumulation and
// intermediates, written to be obviously correct rather than fast. They execute the backend
// contract's records (backend.ts; reference-backend.ts binds them) and read masks through the
// same views as the native kernels (masks.ts).
import type { AttentionArgs, MatmulArgs, SoftmaxArgs } from './backend.js';
import { rounding } from './reduced-precision.js';
import { attendSequence, type HeadRows, type Sequence } from './reference-attend.js';
import { logit, softmaxInPlace } from './reference-score.js';

/** C[i] = alpha * op(A[i]) * op(B[i]); op(B) is shared when !bBatched; bfloat16 precision
 * rounds every operand first. */
export function referenceMatmul(args: MatmulArgs): void {
  const { a, b, out, batch, m, n, k, transA, transB, alpha, bBatched } = args;
  const round = rounding(args.precision) ?? ((x: number) => x);
  for (let i = 0; i < batch; i++) {
    const aBase = i * m * k;
    const bBase = bBatched ? i * k * n : 0;
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < n; c++) {
        let acc = 0;
        for (let p = 0; p < k; p++) {
          const av = transA ? a[aBase + p * m + r] : a[aBase + r * k + p];
          const bv = transB ? b[bBase + c * k + p] : b[bBase + p * n + c];
          acc += round(av) * round(bv);
        }
        out[i * m * n + r * n + c] = alpha * acc;
      }
    }
  }
}

/** out = softmax over the last dim of the rule's logits of x [batch, heads, l, s] read as q . k. */
export function referenceMaskedSoftmax(args: SoftmaxArgs): void {
  const { x, out, batch, heads, l: L, s: S } = args;
  const masks = { attnMask: args.attnMask, keyPadding: args.keyPadding };
  const row = new Float64Array(S);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < L; i++) {
        const base = ((b * heads + h) * L + i) * S;
        for (let j = 0; j < S; j++) row[j] = logit(args, masks, x[base + j], { b, h, i, j, l: L, s: S });
        softmaxInPlace(row);
        for (let j = 0; j < S; j++) out[base + j] = row[j];
      }
    }
  }
}

/** The sequences of an attention record: dense [B, heads, rows, width] or packed token-major
 * [T, heads, width] with the record's cumulative offsets. */
function attentionSequences(args: AttentionArgs): Sequence[] {
  const { batch, heads, kvHeads, l: L, s: S, d, dv, packed } = args;
  if (packed) {
    const tokens = <A>(data: A, first: number, headCount: number, width: number): HeadRows<A> =>
      ({ data, base: first * headCount * width, sh: width, sr: headCount * width });
    return Array.from({ length: batch }, (_, n) => ({
      b: n, l: packed.q[n + 1] - packed.q[n], s: packed.kv[n + 1] - packed.kv[n],
      q: tokens(args.q, packed.q[n], heads, d), out: tokens(args.out, packed.q[n], heads, dv),
      k: tokens(args.k, packed.kv[n], kvHeads, d), v: tokens(args.v, packed.kv[n], kvHeads, dv),
    }));
  }
  const block = <A>(data: A, b: number, headCount: number, rows: number, width: number): HeadRows<A> =>
    ({ data, base: b * headCount * rows * width, sh: rows * width, sr: width });
  return Array.from({ length: batch }, (_, b) => ({
    b, l: L, s: S,
    q: block(args.q, b, heads, L, d), out: block(args.out, b, heads, L, dv),
    k: block(args.k, b, kvHeads, S, d), v: block(args.v, b, kvHeads, S, dv),
  }));
}

/** Scaled dot-product attention of a dense or packed record, one sequence at a time. */
export function referenceAttention(args: AttentionArgs): void {
  const masks = { attnMask: args.attnMask, keyPadding: args.keyPadding };
  const round = rounding(args.precision);
  for (const seq of attentionSequences(args)) attendSequence(args, args, masks, seq, undefined, round);
}

/** y[r, o] = sum_i x[r, i] * w[o, i] + bias[o]  (torch.nn.Linear), in float64; with `round`
 * (a bfloat16 layer, whose weights are already rounded) x is read rounded. */
export function linear(x: ArrayLike<number>, rows: number, inDim: number, w: Float32Array, outDim: number,
  bias: Float32Array | undefined, round: (x: number) => number = (v) => v): Float64Array {
  const y = new Float64Array(rows * outDim), xr = new Float64Array(inDim);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < inDim; i++) xr[i] = round(x[r * inDim + i]);  // once per row, not per output
    for (let o = 0; o < outDim; o++) {
      let acc = bias ? bias[o] : 0;
      for (let i = 0; i < inDim; i++) acc += xr[i] * w[o * inDim + i];
      y[r * outDim + o] = acc;
    }
  }
  return y;
}
