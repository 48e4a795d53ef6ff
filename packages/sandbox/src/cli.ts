/**
 * `npm run sandbox -- --kubeconfig <file> [--prometheus] [--rps <n>] [--namespace <ns>...]
 * [--kube-proxy-ms <ms>] [--mesh-push-ms <ms>]`: runs the sandbox in the foreground until
 * SIGINT/SIGTERM and prints one `sandbox ready <json>` line. The two delays are how long the
 * traffic takes to follow a Service/Endpoints change and a route change (defaults 1000 and 500).
 */
import { parseArgs } from 'node:util';
import { startSandbox } from './sandbox.js';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    prometheus: { type: 'boolean', default: false },
    rps: { type: 'string', default: '20' },
    namespace: { type: 'string', multiple: true, default: [] },
    'kube-proxy-ms': { type: 'string' },
    'mesh-push-ms': { type: 'string' },
  },
});
const usage =
  'usage: npm run sandbox -- --kubeconfig <file> [--prometheus] [--rps <n>] [--namespace <ns>] [--kube-proxy-ms <ms>] [--mesh-push-ms <ms>]';
/** A non-negative number of the flag, undefined when the flag is absent; exits with the usage otherwise. */
function nonNegative(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    console.error(`--${flag}: "${value}" is not a number of 0 or more\n${usage}`);
    process.exit(2);
  }
  return n;
}
const rps = nonNegative('rps', values.rps);
const kubeProxyMs = nonNegative('kube-proxy-ms', values['kube-proxy-ms']);
const meshPushMs = nonNegative('mesh-push-ms', values['mesh-push-ms']);
if (!values.kubeconfig) {
  console.error(usage);
  process.exit(2);
}
const sandbox = await startSandbox({
  kubeconfigPath: values.kubeconfig,
  prometheus: values.prometheus,
  rps,
  namespaces: values.namespace,
  timings: {
    dataPlane: {
      ...(kubeProxyMs !== undefined ? { kubeProxyMs } : {}),
      ...(meshPushMs !== undefined ? { meshPushMs } : {}),
    },
  },
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
