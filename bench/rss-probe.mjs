/* global process */
// Preloaded into every measured process: reports its peak RSS (KiB) on fd 3 as it exits.
import { writeSync } from 'node:fs';
process.on('exit', () => {
  try {
    writeSync(3, `${process.resourceUsage().maxRSS}\n`);
  } catch {
    // fd 3 is only open when the benchmark runs us.
  }
});
