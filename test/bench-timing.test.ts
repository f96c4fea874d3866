// bench/timing.mjs's settle, which the benchmark runs between cases: it must wait while another
// runtime's threads still spin after their last call (here a process that keeps one CPU busy),
// so that the next case is timed on idle cores. No speed is asserted.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { settle } from '../bench/timing.mjs';

describe('bench settle', () => {
  it('waits while a peer process keeps a CPU busy, and returns once it idles', async () => {
    const busyMs = 300;
    const child = spawn(process.execPath, ['-e',
      `process.stdout.write('busy\\n'); const end = Date.now() + ${busyMs}; while (Date.now() < end); setTimeout(() => {}, 60000);`]);
    try {
      await new Promise((resolve) => child.stdout.once('data', resolve));
      const waited = settle([child.pid!]);
      expect(waited).toBeGreaterThan(busyMs / 2);
      expect(waited).toBeLessThan(busyMs + 400); // its cap: it never waits much past the busy stretch
    } finally {
      child.kill();
    }
  });
});
