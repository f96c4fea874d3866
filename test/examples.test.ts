// The decoding examples run as a user would run them (node examples/<name>.mjs against the
// compiled dist/), exit 0 and print what they promise.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

async function runExample(name: string): Promise<string> {
  expect(inject('distBuildError')).toBe('');
  const { stdout } = await promisify(execFile)(process.execPath, [`examples/${name}`], { cwd: root, timeout: 60_000 });
  return stdout; // execFile rejects on a nonzero exit code
}

describe('examples', () => {
  it('bert-encoder.mjs: per-head attention over a padded batch, no weight on padding', async () => {
    const out = await runExample('bert-encoder.mjs');
    expect(out).toMatch(/batch of 3 sentences padded to 8 tokens, embedDim 32, 4 heads/);
    expect(out).toContain('sentence 0: "the cat sat on the mat" (7 tokens, 1 padding)');
    expect(out).toContain('sentence 1: "a dog barks" (4 tokens, 4 padding)');
    // 3 sentences x 4 heads, each listing every real token's favourite key token.
    const heads = out.match(/^ {2}head \d: .*$/gm) ?? [];
    expect(heads).toHaveLength(12);
    expect(heads[4]).toMatch(/^ {2}head 0: \[CLS\]->\S+\(\d\.\d\d\) a->\S+ dog->\S+ barks->\S+$/);
    for (const line of heads) expect(line).not.toContain('[PAD]');
    expect(out).toContain('largest attention weight on a padding token: 0\n');
    expect(out).toContain('output shape [3, 8, 32], finite: true');
  });

  it('translation-decoder.mjs: greedy decoding through a self-attention cache and encoder memory', async () => {
    const out = await runExample('translation-decoder.mjs');
    expect(out).toContain('source 1: "a dog runs fast today" (5 tokens)');
    const steps = out.match(/^step \d+: .* \[self cache (\d+)\/7, memory 5\]$/gm) ?? [];
    expect(steps.length).toBeGreaterThanOrEqual(1);
    steps.forEach((line, i) => expect(line).toContain(`[self cache ${i + 1}/7, memory 5]`));
    expect(out).toMatch(/^translation 0: \S.*$/m);
    expect(out).toMatch(/^translation 1: \S.*$/m);
    expect(out).toMatch(/cache check: incremental decoding matches a full causal recompute over \d+ steps/);
  });
});
