// PyTorch CPU peer: bench/torch_peer.py in a long-lived python process per workload, driven by
// one JSON line per command; inputs reach it through the raw files of the workload's temp dir.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { widestOpenblasCore } from './openblas.mjs';

const SCRIPT = fileURLToPath(new URL('../torch_peer.py', import.meta.url));

function variantOf(w) {
  if (w.kind === 'gemm') return w.batch ? 'torch.bmm' : 'torch.mm';
  if (w.kind === 'decode') return 'softmax(q kᵀ·scale) v via torch.matmul';
  if (w.kind === 'ragged') return `nn.MultiheadAttention, eval, no_grad, padded to ${Math.max(...w.lengths)} with key_padding_mask`;
  if (w.kind === 'gqa-decode') return 'decode step on torch ops: matmul projections, RoPE, torch.cat of past and new K/V, grouped matmul/softmax';
  return `nn.MultiheadAttention, eval, no_grad${w.window ? ', the window as a band attn_mask' : ''}`;
}

/** Debian's torch does its matmuls in OpenBLAS, whose old build detects new Xeons as Prescott
 * (SSE3 kernels); unless the environment picks a core, torch gets the machine's widest one.
 * OpenBLAS keeps its own thread pool, sized by OPENBLAS_NUM_THREADS, not by
 * torch.set_num_threads: it is set to the benchmark's thread count too, or torch's matmuls
 * would use every core whatever --threads says. */
function torchEnv(isa, threads) {
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads) };
  env.OPENBLAS_CORETYPE ??= widestOpenblasCore(isa);
  return env;
}

/** The torch case of workload w ('missing' when python or torch is not there). */
export function torchCases(w, _inputs, { threads, python, dir, probes }) {
  const env = torchEnv(probes.isa, threads);
  const fields = { id: 'torch', peer: 'pytorch', variant: `${variantOf(w)}; OpenBLAS core ${env.OPENBLAS_CORETYPE}` };
  if (!fs.existsSync(python)) return [{ ...fields, unavailable: `not installed: no ${python}` }];
  let child, lines, stderr = '';
  const ask = (command) => new Promise((resolve, reject) => {
    const onClose = () => reject(new Error(`python exited: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    child.once('close', onClose);
    lines.once('line', (line) => { child.off('close', onClose); resolve(JSON.parse(line)); });
    child.stdin.write(`${JSON.stringify(command)}\n`);
  });
  const workload = { ...w, L: w.L ?? 1 };
  return [{
    ...fields,
    // timed only where its rounds, predicted from its first call, fit the profile's limit, so
    // that one slow peer row does not set the length of the run (it is a peer, not a target)
    limited: true,
    async setup() {
      child = spawn(python, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'], env });
      child.stderr.on('data', (d) => { stderr += d; });
      lines = readline.createInterface({ input: child.stdout });
      const reply = await ask({ cmd: 'setup', dir, workload, threads });
      if (reply.missing) { this.unavailable = reply.missing; throw new Error(reply.missing); }
      if (!reply.ok) throw new Error(reply.error);
      this.version = reply.torch;
      this.outputFile = reply.output;
      this.firstCallSeconds = reply.seconds;
    },
    pid: () => (child?.exitCode === null ? [child.pid] : []),
    async check() {
      const bytes = fs.readFileSync(this.outputFile);
      return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    },
    async measure({ maxTime, minSamples }) {
      return (await ask({ cmd: 'measure', maxTime, minSamples })).samples;
    },
    async memory() {
      const r = spawnSync(python, [SCRIPT, '--memory', dir, JSON.stringify(workload), String(threads)], { encoding: 'utf8', env });
      if (r.status !== 0) throw new Error(r.stderr.trim().split('\n').slice(-1)[0]);
      return JSON.parse(r.stdout).growthBytes;
    },
    close() { child?.stdin.end(); },
  }];
}
