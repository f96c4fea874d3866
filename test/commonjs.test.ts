// CommonJS consumers: require('mha-native') goes through the exports map to the compiled ES
// module entry (require(esm), Node >= 20.19), which must therefore stay free of top-level await.
// The fixture lives inside the package, so it resolves the package by name (self-reference).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const requireEsm = (process.features as { require_module?: boolean }).require_module === true;

describe('CommonJS', () => {
  it.runIf(requireEsm)("require('mha-native') loads dist/index.js and runs a forward", async () => {
    expect(inject('distBuildError')).toBe('');
    const { stdout } = await promisify(execFile)(process.execPath, ['test/fixtures/require-forward.cjs'],
      { cwd: root, timeout: 60_000 }); // rejects on a nonzero exit: the fixture throws on a bad result
    const result = JSON.parse(stdout) as {
      resolved: string; nativeInfo: { isa: string }; outputShape: number[]; weightsShape: number[];
      finite: boolean; relL2: number;
    };
    expect(result.resolved).toBe(`${root}dist/index.js`);
    expect(result.outputShape).toEqual([2, 5, 8]);
    expect(result.weightsShape).toEqual([2, 5, 5]);
    expect(result.finite).toBe(true);
    expect(result.relL2).toBeLessThanOrEqual(2e-5);
    expect(typeof result.nativeInfo.isa).toBe('string');
  });
});
