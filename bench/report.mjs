// Turns the workers' results into rows (GFLOP/s, % of the measured peak, speed-ups), the stdout
// table and the Markdown report.
import { describe } from './workloads.mjs';

const ms = (s) => (s === undefined ? '' : (s * 1e3).toPrecision(4));
const fixed = (x, d = 1) => (x === undefined || !Number.isFinite(x) ? '' : x.toFixed(d));
const times = (x) => (x === undefined ? '' : `${x.toFixed(2)}×`);

/** One row per case of every workload, with the derived figures. */
export function buildRows(results, peaks) {
  const rows = [];
  for (const r of results) {
    if (r.error) rows.push({ workload: r.id, peer: 'worker', variant: 'all cases', status: 'failed', reason: r.error });
    const ok = r.cases.filter((c) => c.status === 'ok');
    const ortOk = ok.filter((c) => c.peer === 'onnxruntime').sort((a, b) => a.stats.median - b.stats.median);
    // the best float32 variant ("ORT best"; the int8 graphs compute something else); with groups
    // (W6, the int8 graphs) also each group's best
    const ort = ortOk.find((c) => !c.precision);
    const groupBest = new Set([...new Map([...ortOk].reverse().map((c) => [c.group, c])).values()]);
    const ref = ok.find((c) => c.peer === 'reference' && !c.precision);
    for (const c of r.cases) {
      const median = c.stats?.median;
      const { flops } = c.work ?? r; // a case doing other work carries its own counts
      const bytes = c.bytes ?? (c.work ?? r).bytes; // a reduced-precision step reads fewer bytes
      const gflops = median ? flops / median / 1e9 : undefined;
      const gbps = median && bytes ? bytes / median / 1e9 : undefined;
      const comparable = median && !c.work; // speed-ups only between calls doing the same work
      // tokens a call yields: a decode step one per sequence, W6 its real tokens
      const tokens = c.work ? c.work.tokens : r.tokens;
      const tokensPerSec = median && tokens ? tokens / median : undefined;
      rows.push({
        workload: r.id, peer: c.peer, variant: c.variant, group: c.group, precision: c.precision, isBaseline: c.baseline,
        status: c.status, reason: c.reason, untimed: c.untimed,
        ortBest: groupBest.has(c), ortBestOverall: c === ort, median, stats: c.stats, gflops,
        pctPeak: gflops !== undefined && peaks ? (gflops / peaks.fmaGflops) * 100 : undefined,
        gbps, pctBandwidth: gbps !== undefined && peaks ? (gbps / peaks.readGBps) * 100 : undefined, tokensPerSec,
        vsOrtBest: comparable && ort ? ort.stats.median / median : undefined,
        vsReference: comparable && ref ? ref.stats.median / median : undefined,
        peakRssMiB: c.peakRssGrowthBytes !== undefined ? c.peakRssGrowthBytes / 2 ** 20 : undefined,
        relL2: c.relL2, checkedAgainst: c.checkedAgainst, relL2f64: c.relL2f64, float64Label: c.float64Label,
        version: c.version, paired: c.paired, pairedOrt: c.pairedOrt, pairedError: c.pairedError,
      });
    }
  }
  return rows;
}

const HEADER = ['workload', 'backend / peer', 'median ms', 'IQR ms', 'min–max ms', 'GFLOP/s', '% peak',
  'GB/s (% BW), tokens/s', 'vs ORT best', 'vs ref', 'peak RSS MiB', 'rel L2', 'rel L2 vs float64', 'status'];
const STATUS = HEADER.length - 1;
const exp = (x) => (x === undefined ? '' : x.toExponential(1));

function cells(row) {
  const s = row.stats;
  return [
    row.workload, `${row.peer}: ${row.variant}${row.ortBest ? ` [ORT best${row.group ? `, ${row.group}` : ''}]` : ''}`, ms(row.median),
    s ? `${ms(s.q1)}–${ms(s.q3)}` : '', s ? `${ms(s.min)}–${ms(s.max)}` : '', fixed(row.gflops),
    fixed(row.pctPeak),
    [row.gbps !== undefined ? `${fixed(row.gbps)} (${fixed(row.pctBandwidth, 0)}%)` : '',
      row.tokensPerSec !== undefined ? `${fixed(row.tokensPerSec, 0)} tok/s` : ''].filter(Boolean).join(', '),
    times(row.vsOrtBest), times(row.vsReference), fixed(row.peakRssMiB), exp(row.relL2), exp(row.relL2f64),
    row.status !== 'ok' ? `${row.status}: ${row.reason}` : row.untimed ? 'ok (its error only: not timed)' : 'ok',
  ];
}

/** Fixed-width table for stdout. */
export function textTable(rows) {
  const body = rows.map(cells);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...body.map((r) => (i === STATUS ? 0 : r[i].length))));
  const line = (r) => r.map((c, i) => (i === STATUS ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(HEADER), line(widths.map((n) => '-'.repeat(n))), ...body.map(line)].join('\n');
}

const mdEscape = (s) => String(s).replace(/\|/g, '\\|');

/** The OpenBLAS row whose paired ratio (t_OpenBLAS / t_mha-native, see case-worker.mjs) came
 * closest to mha-native, among a workload's rows. */
function closestOpenblas(rows) {
  return rows.filter((x) => x.peer === 'openblas' && x.paired).sort((a, b) => a.paired.ratio.median - b.paired.ratio.median)[0];
}

/** A row's paired ratio when it was paired against mha-native's main call (not the stand-in a
 * workload pairs with when that call could not run: W6's padded forward). */
function pairedWithBaseline(row, ours) {
  return row?.paired && ours?.median && row.paired.against === `${ours.peer} ${ours.variant}` ? row.paired.ratio.median : undefined;
}

/** One line per workload: mha-native's main call next to ORT's best variant, PyTorch and
 * OpenBLAS's fastest variant (gemm workloads), by the round medians and paired. */
function summary(results, rows) {
  const lines = ['## Summary', '', '| workload | mha-native ms | GFLOP/s (% peak) | ORT best | ORT ms | PyTorch ms | OpenBLAS best ms '
    + '| vs ORT best | vs PyTorch | vs OpenBLAS best | vs ORT, paired | vs OpenBLAS, paired |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|'];
  for (const r of results) {
    const mine = rows.filter((x) => x.workload === r.id);
    const ours = mine.find((x) => x.isBaseline);
    const ort = mine.find((x) => x.ortBestOverall);
    const torch = mine.find((x) => x.peer === 'pytorch');
    const openblas = mine.filter((x) => x.peer === 'openblas' && x.median).sort((a, b) => a.median - b.median)[0];
    const vs = (peer) => (ours?.median && peer?.median ? peer.median / ours.median : undefined);
    const bw = pairedBandwidth(r);
    lines.push(`| ${r.id} | ${ours?.median ? ms(ours.median) : ours?.status ?? 'missing'} | `
      + `${ours?.gflops ? `${fixed(ours.gflops)} (${fixed(ours.pctPeak)}%)` : ''}`
      + `${ours?.gbps ? `; ${fixed(ours.gbps)} GB/s (${fixed(ours.pctBandwidth, 0)}% BW`
        + `${bw ? `; ${fixed(bw.median, 0)}% paired` : ''})` : ''}`
      + `${ours?.tokensPerSec ? `; ${fixed(ours.tokensPerSec, 0)} tokens/s` : ''} | ${ort ? mdEscape(ort.variant) : 'none'} | `
      + `${ort ? ms(ort.median) : ''} | ${torch?.median ? ms(torch.median) : torch?.status ?? ''} | ${openblas ? ms(openblas.median) : ''} | `
      + `${times(ours?.vsOrtBest)} | ${times(vs(torch))} | ${times(vs(openblas))} | `
      + `${times(pairedWithBaseline(ort, ours))} | `
      + `${times(closestOpenblas(mine)?.paired.ratio.median)} |`);
  }
  lines.push('', '"Paired": mha-native and the peer (ORT\'s fastest variant over all rounds, paired from the round after '
    + 'which it led; OpenBLAS with its widest kernels, each variant in turn) timed in alternating bursts of about 20 ms after every round, each burst '
    + 'started as soon as the other\'s threads went idle, so that both see the machine in nearly the same state; the median '
    + 'over the pairs of t_peer / t_mha-native (each burst\'s median call time; for OpenBLAS, the variant that came '
    + 'closest). The round medians of the other columns are taken seconds apart, while this shared machine changes speed.');
  return lines;
}

/** Speed-up (t_other / t_this) from a pairing of this row against the other, or undefined. */
const pairedSpeedup = (paired) => (paired ? 1 / paired.ratio.median : undefined);

/** The ORT pairing of a row (pairWithOrt) against ORT's float32 best (no precision) or its int8 best. */
const ortPairing = (row, precision) => row.pairedOrt?.find((p) => p.precision === precision);

/** The reduced-precision section: per workload with reduced-precision rows, each mha-native row in
 * another precision next to its float32 counterpart and ONNX Runtime's bests, paired, with its
 * error against float64 and that of ORT's best int8 variant. */
function reducedPrecision(results, rows) {
  const withReduced = results.filter((r) => r.float64);
  if (!withReduced.length) return [];
  const lines = ['## Reduced precision', '',
    '| workload | mha-native row | median ms | vs its float32, paired | vs ORT float32 best, paired | vs ORT int8 best, paired '
    + '| rel L2 vs float64 | the rounded operands alone: rel L2 vs float64 | ORT int8 best: rel L2 vs float64 | error / ORT int8\'s | status |',
    '|---|---|---|---|---|---|---|---|---|---|---|'];
  const ortLines = [];
  for (const r of withReduced) {
    const mine = rows.filter((x) => x.workload === r.id);
    const int8 = mine.find((x) => x.ortBest && x.precision === 'int8');
    const floor = mine.find((x) => x.peer === 'reference' && x.precision === 'bfloat16' && x.status === 'ok');
    for (const row of mine.filter((x) => x.peer === 'mha-native' && x.precision)) {
      const ratio = int8?.relL2f64 && row.relL2f64 !== undefined ? row.relL2f64 / int8.relL2f64 : undefined;
      lines.push(`| ${r.id} | ${mdEscape(row.variant)} | ${ms(row.median)} | ${times(pairedSpeedup(row.paired))} | `
        + `${times(pairedSpeedup(ortPairing(row, undefined)))} | ${times(pairedSpeedup(ortPairing(row, 'int8')))} | `
        + `${exp(row.relL2f64)} | ${row.precision === 'bfloat16' && floor ? exp(floor.relL2f64) : ''} | `
        + `${int8 ? exp(int8.relL2f64) : ''} | ${ratio === undefined ? '' : ratio.toFixed(2)} | `
        + `${row.status === 'ok' ? 'ok' : mdEscape(`${row.status}: ${row.reason}`)} |`);
    }
    if (int8) {
      const f32 = mine.find((x) => x.ortBestOverall);
      ortLines.push(`| ${r.id} | ${mdEscape(int8.variant)} | ${ms(int8.median)} | ${f32 ? times(f32.median / int8.median) : ''} | `
        + `${exp(int8.relL2f64)} | ${f32 ? exp(f32.relL2f64) : ''} | ${int8.paired ? times(int8.paired.ratio.median) : ''} |`);
    }
  }
  lines.push('', '"vs …, paired": speed-ups (the other\'s time / this row\'s, > 1 = this row is faster), each the median over '
    + 'alternating bursts of the two (see the summary\'s note); "its float32" is the same call in float32 (the layer\'s '
    + 'forward into options.out, or the decode step through a float32 cache). "error / ORT int8\'s": this row\'s rel L2 '
    + 'against float64 divided by that of ORT\'s fastest int8 variant. "The rounded operands alone": the reference backend '
    + 'in bfloat16, a float64 evaluation of the operands the contract rounds to bfloat16 (API.md "Reduced precision"), '
    + 'against the same float64 expectation: the error any bfloat16 layer keeping to the contract has on these inputs. Targets of issue #22 (item 6), on a CPU with '
    + 'AVX512-BF16: bfloat16 W1, W2 and W5 at least 1.8× their float32 and 2× ORT float32\'s best, at least 0.8× ORT int8\'s '
    + 'best (within 1.25× of its time) at a quarter of its error or less; W3 with a float16 cache at least 1.7× the float32 cache.');
  if (ortLines.length) {
    lines.push('', '| workload | ORT int8 best | median ms | vs ORT float32 best | rel L2 vs float64 | ORT float32 best: rel L2 vs float64 '
      + '| mha-native float32 vs ORT int8, paired |', '|---|---|---|---|---|---|---|', ...ortLines);
  }
  lines.push('', 'Float64 expectations (every row\'s "rel L2 vs float64"):', '',
    ...withReduced.flatMap((r) => Object.entries(r.float64).map(([name, label]) => `- ${r.id} ${name}: ${label}`)));
  return lines;
}

/** A memory-bound workload's baseline against the streaming-read probe, paired: its rate as a
 * percentage of the probe's in the neighbouring burst, { median, q1, q3, n } over the pairs. */
function pairedBandwidth(r) {
  const probe = r.readProbe;
  if (!probe || !r.bytes) return undefined;
  const pct = (ratio) => (ratio * r.bytes / probe.bytes) * 100; // ratio = t_probe pass / t_call
  const q = probe.paired.ratio;
  return { median: pct(q.median), q1: pct(q.q1), q3: pct(q.q3), n: q.n };
}

/** The line of a workload's paired read-probe timing (or why it failed), if it has one. */
function readProbeLines(r) {
  if (r.readProbeError) return [`Paired timing against the read probe failed: ${r.readProbeError}`];
  const bw = pairedBandwidth(r);
  if (!bw) return [];
  return [`Paired: the read probe (${r.readProbe.variant}, each burst's median pass) against ${r.readProbe.paired.against}, `
    + `${bw.n} pairs of alternating ${r.readProbe.paired.burstSeconds * 1e3} ms bursts: the call read its `
    + `${(r.bytes / 2 ** 20).toFixed(1)} MiB at ${fixed(bw.median, 0)}% of the probe's rate (IQR ${fixed(bw.q1, 0)}–${fixed(bw.q3, 0)}%).`];
}

/** The paired timings of one workload's cases (or why one failed), a line each. */
function pairedLines(rows) {
  const line = (x, paired) => {
    const r = paired.ratio;
    return `Paired: ${x.peer}: ${x.variant} against ${paired.against}, ${r.n} pairs of alternating `
      + `${paired.burstSeconds * 1e3} ms bursts: time ratio median ${r.median.toFixed(3)} (IQR ${r.q1.toFixed(3)}–${r.q3.toFixed(3)}).`;
  };
  return rows.filter((x) => x.paired || x.pairedOrt || x.pairedError).flatMap((x) => {
    if (x.pairedError) return [`Paired timing of ${x.peer}: ${x.variant} failed: ${x.pairedError}`];
    return [...(x.paired ? [line(x, x.paired)] : []), ...(x.pairedOrt ?? []).map((p) => line(x, p))];
  });
}

/** The Markdown report: machine, peaks, a summary, one table per workload. */
export function markdown(report, svgFile) {
  const { meta, peaks, results, rows } = report;
  const out = [`# mha-native benchmark — ${meta.date} on ${meta.host}`, ''];
  out.push(`Command: \`${meta.command}\` (profile **${meta.profile.name}**: ${meta.profile.rounds} interleaved rounds, `
    + `${meta.profile.maxTime} s per case per round, ≥ ${meta.profile.minSamples} samples; threads: ${meta.threads})`, '');
  out.push(`Machine: ${meta.cpu}, ${meta.cores} cores, ${meta.memGiB} GiB; Node ${meta.node}; `
    + `mha-native ${meta.nativeInfo ? `${meta.nativeInfo.version} (kernels: ${meta.nativeInfo.isa})` : `not loadable: ${meta.nativeError}`}; `
    + `onnxruntime-node ${meta.ortVersion ?? 'missing'}; PyTorch ${meta.torchVersion ?? 'missing'}; ${meta.openblasConfig ?? 'OpenBLAS missing'}.`, '');
  out.push(peaks
    ? `Measured peaks (this run, ${meta.threads} threads): FMA ${peaks.fmaGflops.toFixed(1)} GFLOP/s (${peaks.isa}, the best `
      + `of 100 trials of 10 ms; the median trial ran at ${peaks.fmaMedianGflops.map((g) => g.toFixed(1)).join(' and ')} GFLOP/s `
      + 'at the start and at the end of the run, a measure of how much of the cores the host left this VM), '
      + `streaming read ${peaks.readGBps.toFixed(1)} GB/s over ${(peaks.readBytes / 2 ** 30).toFixed(2)} GiB.`
    : 'Measured peaks: not available (probes failed).', '');
  out.push('Times are medians over all samples of all rounds; IQR = interquartile range. GFLOP/s use the useful-FLOP '
    + 'counts of shared/WORKLOADS.md; "% peak" is of the FMA probe, "% BW" of the read-bandwidth probe (W3 and W6\'s decode '
    + 'rows: K+V bytes per step; W7: its four projection weights plus K/V); "% paired" (W3, W7): the same share with the '
    + 'probe timed in bursts alternating with the call\'s (the workload\'s "Paired: the read probe" line). tokens/s: new tokens per second of a decode '
    + 'step, W6\'s real tokens per second. With grouped ORT variants (W6: padded, one request at a time) each group\'s best '
    + 'is marked and timed paired; "vs ORT best" is against the fastest of all. '
    + '"vs ORT best" and "vs ref" are speed-ups (their median / this median; > 1 = faster); ORT best is its fastest '
    + 'float32 variant (its int8 graphs are a group of their own, marked apart). rel L2 = '
    + '‖out − baseline‖/‖baseline‖ against mha-native (its own row: against the reference). "rel L2 vs float64" (the '
    + 'workloads with reduced-precision rows): against a float64 evaluation of the same function, named in the '
    + '"Reduced precision" section. Peak RSS = growth of VmHWM during the first call in a fresh process (W2).', '');
  out.push(...summary(results, rows), '');
  const reduced = reducedPrecision(results, rows);
  if (reduced.length) out.push(...reduced, '');
  for (const r of results) {
    out.push(`## ${r.id} — ${r.workload.title}`, '', `${describe(r.workload)}; ${(r.flops / 1e9).toPrecision(4)} GFLOP per call`
      + `${r.bytes ? `, ${(r.bytes / 2 ** 20).toFixed(1)} MiB of ${r.bytesLabel ?? 'K+V read per step'}` : ''}`
      + `${r.stealPct === undefined ? '' : `; hypervisor steal while it ran: ${r.stealPct.toFixed(0)}% of CPU time`}.`, '');
    if (r.error) { out.push(`Worker failed: ${r.error}`, ''); continue; }
    if (r.float64) {
      out.push(`Float64 expectation: ${Object.entries(r.float64).map(([name, label]) => `${name}: ${label}`).join('; ')}.`, '');
    }
    out.push(`| ${HEADER.slice(1).join(' | ')} |`, `|${HEADER.slice(1).map(() => '---').join('|')}|`);
    for (const row of rows.filter((x) => x.workload === r.id)) out.push(`| ${cells(row).slice(1).map(mdEscape).join(' | ')} |`);
    out.push('');
    const paired = [...pairedLines(rows.filter((x) => x.workload === r.id)), ...readProbeLines(r)];
    if (paired.length) out.push(...paired, '');
  }
  out.push(`![GFLOP/s per workload and backend](${svgFile})`, '');
  return out.join('\n');
}
