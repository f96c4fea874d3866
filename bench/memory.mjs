// Peak resident memory of one call: /proc/self/status VmHWM after resetting it to the current
// RSS through /proc/self/clear_refs ("5", Linux >= 4.0). Run in a fresh process per case.
import fs from 'node:fs';

function statusKiB(field) {
  const line = fs.readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return line ? Number(line.split(/\s+/)[1]) : 0;
}

/** Bytes the peak RSS grew by while `run()` (sync or async) executed. */
export async function peakRssGrowth(run) {
  try { fs.writeFileSync('/proc/self/clear_refs', '5'); } catch { /* older kernel: VmHWM since start */ }
  const before = statusKiB('VmRSS');
  await run();
  return (statusKiB('VmHWM') - before) * 1024;
}
