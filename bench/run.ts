/** `npm run bench`: every benchmark, each printing one table. Figures are ratios from one run. */
import { blueGreen } from './blue-green.js';
import { canary } from './canary.js';
import { coldStart } from './cold-start.js';
import { faults } from './faults.js';
import { gate } from './gate.js';
import { gateDetection } from './gate-detection.js';
import { sandboxStart } from './sandbox-start.js';
import { waitOverhead } from './wait-overhead.js';

const only = process.argv.slice(2);
const benches: Record<string, () => Promise<void>> = {
  'blue-green': blueGreen,
  canary,
  'cold-start': coldStart,
  'sandbox-start': sandboxStart,
  'wait-overhead': waitOverhead,
  'gate-detection': gateDetection,
  gate,
};
/** Run only when named (`npm run bench -- faults`): the fault matrix takes minutes. */
const onRequest: Record<string, () => Promise<void>> = { faults };
for (const [name, bench] of Object.entries(benches)) {
  if (only.length === 0 || only.includes(name)) await bench();
}
for (const [name, bench] of Object.entries(onRequest)) {
  if (only.includes(name)) await bench();
}
