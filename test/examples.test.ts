// The examples run as a user would run them (node examples/<name>.mjs against the compiled
// dist/), exit 0 (each checks its own results and exits nonzero when a check fails) and print
// what they promise.
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

  it('llama-attention.mjs: a Llama checkpoint (GQA, RoPE) generating through a KV cache', async () => {
    const out = await runExample('llama-attention.mjs');
    expect(out).toContain('loaded model.layers.0.self_attn.{q,k,v,o}_proj from 6 tensors: embedDim 64, ' +
      '8 query heads, 2 key/value heads, headDim 8');
    expect(out).toContain('(4x less than with one key/value head per query head)');
    expect(out).toContain('prompt [1, 17, 33, 5, 42, 8, 23]: output [1,7,64], cache 7/15');
    const steps = out.match(/^step \d+: fed token \d+ at position \d+, cache \d+\/15$/gm) ?? [];
    expect(steps).toHaveLength(8);
    steps.forEach((line, i) => expect(line).toContain(`at position ${7 + i}, cache ${8 + i}/15`));
    expect(out).toMatch(/^cache check: the last step matches one causal forward over all 15 tokens/m);
  });

  it('modernbert-attention.mjs: global and local layers over a padded batch; padding and window checks', async () => {
    const out = await runExample('modernbert-attention.mjs');
    expect(out).toContain('batch of 3 sequences (200, 57, 130 tokens) padded to 200');
    expect(out).toContain('layers: global / local / global (local: window 64 left, 64 right)');
    // What a token sees: everything (minus padding) globally, its +-64 band locally.
    expect(out).toMatch(/^layer 0 +global +0\.\.199 +0\.\.199 +0\.\.199 +0\.\.56 +0\.\.129$/m);
    expect(out).toMatch(/^layer 1 +local +0\.\.64 +36\.\.164 +135\.\.199 +0\.\.56 +65\.\.129$/m);
    expect(out).toMatch(/^padding check: filling the padding with noise leaves the 387 real rows after 3 layers/m);
    expect(out).toMatch(/^window check: the local layer equals the same weights with an explicit band mask/m);
  });

  it('continuous-batching.mjs: requests join and leave one per-sequence cache; each matches running alone', async () => {
    const out = await runExample('continuous-batching.mjs');
    expect(out).toContain('6 requests, 3 slots of 16 positions in one KV cache');
    const steps = out.match(/^ +\d+ {2}.*$/gm) ?? [];
    expect(steps.length).toBeGreaterThanOrEqual(6);
    expect(steps[0]).toMatch(/^ +0 {2}A:5 +B:3 +- +8 +\[5,3,0\] +A joins slot 0, B joins slot 1$/);
    for (const name of 'ABCDEF') {
      expect(out).toMatch(new RegExp(`${name} joins slot \\d`));
      expect(out).toMatch(new RegExp(`${name} done`));
      expect(out).toMatch(new RegExp(`^${name}: prompt [\\d ]+ -> [\\d ]+ {2}\\(alone: relative L2 `, 'm'));
    }
    expect(out).toContain('check: every request matches running it alone');
  });
});
