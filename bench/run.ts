/** `npm run bench`: every benchmark, each printing one table. Figures are ratios from one run. */
import { coldStart } from './cold-start.js';

await coldStart();
