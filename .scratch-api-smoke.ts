import { Store } from './packages/sandbox/src/store.js';
import { Faults, AuditLog } from './packages/sandbox/src/faults.js';
import { startApiServer } from './packages/sandbox/src/api/server.js';
import { writeFileSync } from 'node:fs';
const t0 = performance.now();
const api = await startApiServer({ store: new Store(), faults: new Faults(), audit: new AuditLog() });
console.log('started in', performance.now() - t0, api.url);
writeFileSync('/tmp/apiscratch/kc.yaml', api.kubeconfig());
process.on('SIGTERM', () => { void api.stop().then(() => process.exit(0)); });
