// CPU time the hypervisor stole from this virtual machine (Linux /proc/stat "steal"): on a
// shared VM it is the share of time the vCPUs were ready but not running, which slows every
// backend at random. The report prints it per workload so a noisy run can be told apart.
import fs from 'node:fs';

/** Cumulative { steal, total } CPU ticks of the whole machine, or undefined off Linux. */
export function cpuTicks() {
  try {
    const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
    return { steal: fields[7], total: fields.reduce((a, b) => a + b, 0) };
  } catch {
    return undefined;
  }
}

/** Percent of the CPU time between two cpuTicks() readings that was stolen. */
export function stealPercent(before, after) {
  if (!before || !after || after.total <= before.total) return undefined;
  return (100 * (after.steal - before.steal)) / (after.total - before.total);
}
