// The report chart as a hand-built SVG string: grouped bars of GFLOP/s per workload, one bar
// per backend series, and the measured FMA peak drawn as a dashed line. No dependencies.

const SERIES = [
  { name: 'mha-native', color: '#1f77b4', pick: (rows) => rows.find((r) => r.peer === 'mha-native' && r.isBaseline) },
  { name: 'mha-native unfused', color: '#9ecae1', pick: (rows) => rows.find((r) => r.variant.includes('unfused')) },
  { name: 'mha-native bfloat16', color: '#17becf',
    pick: (rows) => rows.find((r) => r.peer === 'mha-native' && r.precision === 'bfloat16') },
  { name: 'ONNX Runtime (best)', color: '#ff7f0e', pick: (rows) => rows.find((r) => r.ortBestOverall) },
  { name: 'ONNX Runtime int8 (best)', color: '#ffbb78', pick: (rows) => rows.find((r) => r.ortBest && r.precision === 'int8') },
  { name: 'PyTorch', color: '#d62728', pick: (rows) => rows.find((r) => r.peer === 'pytorch') },
  { name: 'OpenBLAS (best)', color: '#2ca02c', pick: (rows) => best(rows.filter((r) => r.peer === 'openblas')) },
  { name: 'TS reference', color: '#7f7f7f', pick: (rows) => rows.find((r) => r.peer === 'reference' && !r.precision) },
];

function best(rows) {
  return rows.filter((r) => r.gflops !== undefined).sort((a, b) => b.gflops - a.gflops)[0];
}

/** A round axis step (1, 2, 2.5 or 5 times a power of ten) of at least `raw`. */
function niceStep(raw) {
  if (!(raw > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw);
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const num = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** rows: report rows (with isBaseline marking mha-native's main call); peakGflops may be undefined. */
export function chart(rows, peakGflops, title) {
  const workloads = [...new Set(rows.map((r) => r.workload))];
  const groups = workloads.map((id) => {
    const mine = rows.filter((r) => r.workload === id && r.gflops !== undefined);
    return { id, bars: SERIES.map((s) => ({ series: s, row: s.pick(mine) })).filter((b) => b.row) };
  });
  const used = SERIES.filter((s) => groups.some((g) => g.bars.some((b) => b.series === s)));
  const highest = Math.max(peakGflops ?? 0, ...rows.map((r) => r.gflops ?? 0)) * 1.08;
  const step = niceStep(highest / 6);
  const ticks = Math.max(1, Math.ceil(highest / step));
  const top = step * ticks;
  const W = 1000, H = 480, left = 60, right = 20, plotTop = 50, plotBottom = 400;
  const y = (v) => plotBottom - (v / top) * (plotBottom - plotTop);
  const groupW = (W - left - right) / Math.max(groups.length, 1);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`,
  ];
  for (let i = 0; i <= ticks; i++) { // y grid and axis labels
    const v = step * i;
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`,
      `<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${+v.toFixed(2)}</text>`);
  }
  parts.push(`<text x="16" y="${(plotTop + plotBottom) / 2}" transform="rotate(-90 16 ${(plotTop + plotBottom) / 2})" text-anchor="middle">GFLOP/s</text>`);
  groups.forEach((g, gi) => {
    const barW = Math.min(28, (groupW - 16) / Math.max(g.bars.length, 1));
    const x0 = left + gi * groupW + (groupW - barW * g.bars.length) / 2;
    g.bars.forEach((b, bi) => {
      const x = x0 + bi * barW;
      const v = b.row.gflops;
      parts.push(`<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(plotBottom - y(v)).toFixed(1)}" fill="${b.series.color}"><title>${esc(`${g.id} ${b.row.peer}: ${b.row.variant} — ${num(v)} GFLOP/s`)}</title></rect>`,
        `<text x="${(x + barW / 2 - 1).toFixed(1)}" y="${(y(v) - 3).toFixed(1)}" text-anchor="middle" font-size="8">${num(v)}</text>`);
    });
    parts.push(`<text x="${(left + gi * groupW + groupW / 2).toFixed(1)}" y="${plotBottom + 16}" text-anchor="middle" font-size="12">${esc(g.id)}</text>`);
  });
  parts.push(`<line x1="${left}" x2="${W - right}" y1="${plotBottom}" y2="${plotBottom}" stroke="black"/>`);
  if (peakGflops) {
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${y(peakGflops).toFixed(1)}" y2="${y(peakGflops).toFixed(1)}" stroke="black" stroke-dasharray="6 4"/>`,
      `<text x="${W - right - 4}" y="${(y(peakGflops) - 5).toFixed(1)}" text-anchor="end">measured FMA peak ${num(peakGflops)} GFLOP/s</text>`);
  }
  used.forEach((s, i) => { // legend, five entries a line
    const x = left + (i % 5) * 180, yl = H - 48 + Math.floor(i / 5) * 18;
    parts.push(`<rect x="${x}" y="${yl}" width="12" height="12" fill="${s.color}"/>`,
      `<text x="${x + 16}" y="${yl + 10}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
