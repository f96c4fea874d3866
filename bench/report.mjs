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
    const ort = ortOk[0]; // the best overall; with groups (W6) also each group's best
    const groupBest = new Set([...new Map([...ortOk].reverse().map((c) => [c.group, c])).values()]);
    const ref = ok.find((c) => c.peer === 'reference');
    for (const c of r.cases) {
      const median = c.stats?.median;
      const { flops, bytes } = c.work ?? r; // a case doing other work carries its own counts
      const gflops = median ? flops / median / 1e9 : undefined;
      const gbps = median && bytes ? bytes / median / 1e9 : undefined;
      const comparable = median && !c.work; // speed-ups only between calls doing the same work
      // tokens a call yields: a decode step one per sequence, W6 its real tokens
      const tokens = c.work ? c.work.tokens : r.tokens;
      const tokensPerSec = median && tokens ? tokens / median : undefined;
      rows.push({
        workload: r.id, peer: c.peer, variant: c.variant, group: c.group, isBaseline: c.baseline, status: c.status, reason: c.reason,
        ortBest: groupBest.has(c), ortBestOverall: c === ort, median, stats: c.stats, gflops,
        pctPeak: gflops !== undefined && peaks ? (gflops / peaks.fmaGflops) * 100 : undefined,
        gbps, pctBandwidth: gbps !== undefined && peaks ? (gbps / peaks.readGBps) * 100 : undefined, tokensPerSec,
        vsOrtBest: comparable && ort ? ort.stats.median / median : undefined,
        vsReference: comparable && ref ? ref.stats.median / median : undefined,
        peakRssMiB: c.peakRssGrowthBytes !== undefined ? c.peakRssGrowthBytes / 2 ** 20 : undefined,
        relL2: c.relL2, checkedAgainst: c.checkedAgainst, version: c.version, paired: c.paired, pairedError: c.pairedError,
      });
    }
  }
  return rows;
}

const HEADER = ['workload', 'backend / peer', 'median ms', 'IQR ms', 'min–max ms', 'GFLOP/s', '% peak',
  'GB/s (% BW), tokens/s', 'vs ORT best', 'vs ref', 'peak RSS MiB', 'rel L2', 'status'];

function cells(row) {
  const s = row.stats;
  return [
    row.workload, `${row.peer}: ${row.variant}${row.ortBest ? ` [ORT best${row.group ? `, ${row.group}` : ''}]` : ''}`, ms(row.median),
    s ? `${ms(s.q1)}–${ms(s.q3)}` : '', s ? `${ms(s.min)}–${ms(s.max)}` : '', fixed(row.gflops),
    fixed(row.pctPeak),
    [row.gbps !== undefined ? `${fixed(row.gbps)} (${fixed(row.pctBandwidth, 0)}%)` : '',
      row.tokensPerSec !== undefined ? `${fixed(row.tokensPerSec, 0)} tok/s` : ''].filter(Boolean).join(', '),
    times(row.vsOrtBest), times(row.vsReference), fixed(row.peakRssMiB),
    row.relL2 === undefined ? '' : row.relL2.toExponential(1),
    row.status === 'ok' ? 'ok' : `${row.status}: ${row.reason}`,
  ];
}

/** Fixed-width table for stdout. */
export function textTable(rows) {
  const body = rows.map(cells);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...body.map((r) => (i === 12 ? 0 : r[i].length))));
  const line = (r) => r.map((c, i) => (i === 12 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
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
    lines.push(`| ${r.id} | ${ours?.median ? ms(ours.median) : ours?.status ?? 'missing'} | `
      + `${ours?.gflops ? `${fixed(ours.gflops)} (${fixed(ours.pctPeak)}%)` : ''}`
      + `${ours?.gbps ? `; ${fixed(ours.gbps)} GB/s (${fixed(ours.pctBandwidth, 0)}% BW)` : ''}`
      + `${ours?.tokensPerSec ? `; ${fixed(ours.tokensPerSec, 0)} tokens/s` : ''} | ${ort ? mdEscape(ort.variant) : 'none'} | `
      + `${ort ? ms(ort.median) : ''} | ${torch?.median ? ms(torch.median) : torch?.status ?? ''} | ${openblas ? ms(openblas.median) : ''} | `
      + `${times(ours?.vsOrtBest)} | ${times(vs(torch))} | ${times(vs(openblas))} | `
      + `${times(pairedWithBaseline(ort?.paired ? ort : mine.find((x) => x.peer === 'onnxruntime' && x.paired), ours))} | `
      + `${times(closestOpenblas(mine)?.paired.ratio.median)} |`);
  }
  lines.push('', '"Paired": mha-native and the peer (ORT\'s variant with the best median in the first round; OpenBLAS with '
    + 'its widest kernels, each variant in turn) timed in alternating bursts of about 20 ms after every round, each burst '
    + 'started as soon as the other\'s threads went idle, so that both see the machine in nearly the same state; the median '
    + 'over the pairs of t_peer / t_mha-native (each burst\'s median call time; for OpenBLAS, the variant that came '
    + 'closest). The round medians of the other columns are taken seconds apart, while this shared machine changes speed.');
  return lines;
}

/** The paired timings of one workload's cases (or why one failed), a line each. */
function pairedLines(rows) {
  return rows.filter((x) => x.paired || x.pairedError).map((x) => {
    if (!x.paired) return `Paired timing of ${x.peer}: ${x.variant} failed: ${x.pairedError}`;
    const r = x.paired.ratio;
    return `Paired: ${x.peer}: ${x.variant} against ${x.paired.against}, ${r.n} pairs of alternating `
      + `${x.paired.burstSeconds * 1e3} ms bursts: time ratio median ${r.median.toFixed(3)} (IQR ${r.q1.toFixed(3)}–${r.q3.toFixed(3)}).`;
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
    + 'rows: K+V bytes per step; W7: its four projection weights plus K/V). tokens/s: new tokens per second of a decode '
    + 'step, W6\'s real tokens per second. With grouped ORT variants (W6: padded, one request at a time) each group\'s best '
    + 'is marked and timed paired; "vs ORT best" is against the fastest of all. '
    + '"vs ORT best" and "vs ref" are speed-ups (their median / this median; > 1 = faster). rel L2 = '
    + '‖out − baseline‖/‖baseline‖ against mha-native (its own row: against the reference). Peak RSS = growth of VmHWM '
    + 'during the first call in a fresh process (W2).', '');
  out.push(...summary(results, rows), '');
  for (const r of results) {
    out.push(`## ${r.id} — ${r.workload.title}`, '', `${describe(r.workload)}; ${(r.flops / 1e9).toPrecision(4)} GFLOP per call`
      + `${r.bytes ? `, ${(r.bytes / 2 ** 20).toFixed(1)} MiB of ${r.bytesLabel ?? 'K+V read per step'}` : ''}`
      + `${r.stealPct === undefined ? '' : `; hypervisor steal while it ran: ${r.stealPct.toFixed(0)}% of CPU time`}.`, '');
    if (r.error) { out.push(`Worker failed: ${r.error}`, ''); continue; }
    out.push(`| ${HEADER.slice(1).join(' | ')} |`, `|${HEADER.slice(1).map(() => '---').join('|')}|`);
    for (const row of rows.filter((x) => x.workload === r.id)) out.push(`| ${cells(row).slice(1).map(mdEscape).join(' | ')} |`);
    out.push('');
    const paired = pairedLines(rows.filter((x) => x.workload === r.id));
    if (paired.length) out.push(...paired, '');
  }
  out.push(`![GFLOP/s per workload and backend](${svgFile})`, '');
  return out.join('\n');
}
