/**
 * `npm run sandbox -- --kubeconfig <file> [--prometheus] [--rps <n>] [--namespace <ns>...]`:
 * runs the sandbox in the foreground until SIGINT/SIGTERM and prints one `sandbox ready <json>` line.
 */
import { parseArgs } from 'node:util';
import { startSandbox } from './sandbox.js';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    prometheus: { type: 'boolean', default: false },
    rps: { type: 'string', default: '20' },
    namespace: { type: 'string', multiple: true, default: [] },
  },
});
const rps = Number(values.rps);
if (!values.kubeconfig || !Number.isFinite(rps) || rps < 0) {
  console.error(
    'usage: npm run sandbox -- --kubeconfig <file> [--prometheus] [--rps <n>] [--namespace <ns>]',
  );
  process.exit(2);
}
const sandbox = await startSandbox({
  kubeconfigPath: values.kubeconfig,
  prometheus: values.prometheus,
  rps,
  namespaces: values.namespace,
});
console.log(
  `sandbox ready ${JSON.stringify({
    kubeconfig: sandbox.kubeconfig,
    apiServer: sandbox.apiServer,
    ...(sandbox.prometheus ? { prometheus: sandbox.prometheus } : {}),
    slack: sandbox.slack.url,
    github: sandbox.github.url,
  })}`,
);
const shutdown = (): void => {
  void sandbox.stop().then(() => process.exit(0));
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
