// A probe kept alive to serve timed bursts (bench/probes: openblas_sgemm serve, read_bw serve),
// for the worker's paired timing against mha-native. The probe prints one JSON line when it is
// ready, then answers each stdin line "SECONDS MIN_SAMPLES" with one JSON line {"median":
// seconds per call or pass, "n"}.
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

/** Starts exe with args: resolves, once its first line arrives, to { pid, ready: that line's
 * JSON, burst(seconds) -> the median seconds of a burst lasting about that long (at least one
 * call), close() }. */
export function serveBursts(exe, args, env = process.env) {
  const child = spawn(exe, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = readline.createInterface({ input: child.stdout });
  const waiting = [];
  let stderr = '', failure;
  const fail = (e) => {
    failure ??= e;
    while (waiting.length) waiting.shift().reject(failure);
  };
  child.stderr.on('data', (d) => { stderr += d; });
  child.on('error', fail);
  child.on('close', (code) => fail(new Error(`${path.basename(exe)} server exited ${code}: ${stderr.trim()}`)));
  lines.on('line', (line) => waiting.shift()?.resolve(JSON.parse(line)));
  const next = () => new Promise((resolve, reject) => (failure ? reject(failure) : waiting.push({ resolve, reject })));
  return next().then((ready) => ({
    pid: child.pid,
    ready,
    async burst(seconds) {
      const reply = next();
      child.stdin.write(`${seconds} 1\n`);
      return (await reply).median;
    },
    close() { child.stdin.end(); },
  }));
}
