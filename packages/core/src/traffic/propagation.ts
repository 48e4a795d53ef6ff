/**
 * A data plane follows the API late: the route object reads back at once, but kube-proxy on every
 * node, the mesh's proxies or the ingress controller still send the old way for a while, and the
 * API offers nothing that tells when they caught up. So a router's verify waits out how long each
 * may take, by its documented defaults, before it says the new state serves:
 * - kube-proxy (iptables) programs EndpointSlice changes at most once per `minSyncPeriod`, 1 s by
 *   default, then runs iptables-restore
 *   (https://kubernetes.io/docs/reference/networking/virtual-ips/#minsyncperiod);
 * - istiod debounces config changes for `PILOT_DEBOUNCE_AFTER`, 100 ms by default, then pushes
 *   xDS to every proxy; Envoy-based Gateway API controllers push the same way;
 * - ingress-nginx syncs at most `--sync-rate-limit` times a second, 0.3 by default: one sync per 3.3 s.
 * Traffic counters (confirm-traffic, the canary's observed split) remain the evidence; this only
 * keeps an unobserved claim from coming before the data plane could have made it true.
 */
import { sleep } from '../net/retry.js';

export const PROPAGATION_MS = {
  'kube-proxy': 2000,
  mesh: 1000,
  'ingress-nginx': 3500,
} as const;

export type DataPlaneKind = keyof typeof PROPAGATION_MS;

/**
 * Waits out `kind`'s propagation, never past `deadline`; answers the words to append to the
 * verify detail, which say that the wait was an allowance, not an observation.
 */
export async function awaitPropagation(
  kind: DataPlaneKind,
  deadline: number,
  signal?: AbortSignal,
): Promise<string> {
  const full = PROPAGATION_MS[kind];
  const ms = Math.min(full, Math.max(0, deadline - Date.now()));
  await sleep(ms, signal);
  return ms < full
    ? `; allowed ${kind} ${ms} of its ${full} ms to apply it before the deadline (not observable through the API)`
    : `; allowed ${kind} ${full} ms to apply it (not observable through the API)`;
}
