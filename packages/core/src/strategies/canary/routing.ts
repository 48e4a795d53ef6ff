/**
 * The canary's routing: resolved once (the inputs, else the record of the canary in progress,
 * else the defaults) and turned into the router and the label scheme every phase uses.
 */
import { DESTINATIONRULES, VIRTUALSERVICES, type KubeObjects } from '../../kube/objects.js';
import type { KubeObject } from '../../manifests/manifests.js';
import { createRouter } from '../../traffic/index.js';
import type { CanaryContext, CanaryInputs, CanaryOptions, CanaryRoute, Live, Routing } from './model.js';
import { CANARY, canaryName, STABLE } from './plan.js';
import { refuseAutoscaledStable } from './stable-scale.js';

/**
 * The canary in progress keeps the routing it started with: a later job (a step, promote, abort)
 * need not repeat it, and one that says something else is refused before anything is written.
 */
export function resolveRouting(given: CanaryInputs, live: Live): CanaryOptions {
  const kept = live.state?.route;
  // A canary in progress scales its stable with the weight exactly when its record kept the full size.
  const keptDynamic = live.state ? live.state.stableReplicas !== undefined : undefined;
  const routing: Routing = {
    dynamicStableScale: given.dynamicStableScale ?? keptDynamic ?? false,
    route: (given.route ?? kept?.kind ?? 'replicas') as CanaryRoute,
    service: given.service ?? kept?.service ?? given.app,
    versionLabel: given.versionLabel ?? kept?.versionLabel ?? 'version',
    ...((given.routeName ?? kept?.name) ? { routeName: given.routeName ?? kept?.name } : {}),
    ...((given.ruleName ?? kept?.rule) ? { ruleName: given.ruleName ?? kept?.rule } : {}),
  };
  if (kept) {
    const differs = (
      [
        ['route', given.route, kept.kind],
        ['service', given.service, kept.service],
        ['route-name', given.routeName, kept.name],
        ['route-rule', given.ruleName, kept.rule],
        ['version-label', given.versionLabel, kept.versionLabel],
        ['dynamic-stable-scale', given.dynamicStableScale, keptDynamic],
      ] as const
    ).filter(([, value, was]) => value !== undefined && value !== was);
    if (differs.length > 0)
      throw new Error(
        `The canary of ${given.app} in progress was started with ${differs.map(([name, , was]) => `${name} "${was ?? '(none)'}"`).join(', ')}; this run says ${differs.map(([name, value]) => `${name} "${value}"`).join(', ')}. Leave them out to continue it, or abort it first; nothing was changed`,
      );
  }
  if (routing.dynamicStableScale && routing.route === 'replicas')
    throw new Error(
      `Input "dynamic-stable-scale" has value "true", but the route is "replicas"${given.route ? '' : ' (the default)'}: there the replica counts already are the split. Accepted: true only with route istio, gateway-api or nginx; nothing was changed`,
    );
  return { ...given, ...routing };
}

/**
 * The router for the route kind (Istio's subset or host form read from the VirtualService) and
 * how the canary's pods are labelled: for routers with a canary Service of their own, the labels
 * the stable selects on are changed on the canary's pods so the stable Service never selects them.
 */
export async function canaryContext(
  o: CanaryOptions,
  objects: KubeObjects,
  live: Live,
  report: Pick<CanaryContext, 'note' | 'gates'>,
): Promise<CanaryContext> {
  const { namespace, service } = o;
  // Before any write, with the run that would scale the stable (promote, abort and status never refuse).
  if (o.action === 'run') await refuseAutoscaledStable(o, objects);
  const names = { deployment: canaryName(o.app), service: canaryName(service) };
  const selected = {
    ...((live.stableService?.spec as { selector?: Record<string, string> } | undefined)?.selector ?? {}),
    ...(live.stable?.spec.selector.matchLabels ?? {}),
  };
  let backends: Record<string, string> | undefined = { [service]: STABLE, [names.service]: CANARY };
  let extra: Record<string, string> = {};
  let keepLabels: Record<string, string> = {};
  let separate = o.route !== 'replicas';
  if (o.route === 'istio' && (await istioBySubset(o, objects))) {
    separate = false;
    backends = undefined;
    const subsets = await destinationSubsets(o, objects);
    extra = subsets[CANARY]!;
    keepLabels = subsets[STABLE]!;
  }
  if (separate && !live.stableService)
    throw new Error(
      `Input "service": there is no Service ${namespace}/${service}; the ${o.route} router sends the stable's share to it`,
    );
  const router = createRouter(
    o.route,
    {
      objects,
      namespace,
      service,
      colorLabel: o.versionLabel,
      ...(o.routeName ? { routeName: o.routeName } : {}),
      ...(o.ruleName ? { ruleName: o.ruleName } : {}),
      ...(backends ? { backends } : {}),
      deployments: { [STABLE]: o.app, [CANARY]: names.deployment },
    },
    o.kube,
  );
  return {
    o,
    objects,
    router,
    labels: { versionLabel: o.versionLabel, separate, selected, extra },
    keepLabels,
    separate,
    names,
    ...report,
  };
}

async function istioBySubset(o: CanaryOptions, objects: KubeObjects): Promise<boolean> {
  const vs = await objects.get<KubeObject>(VIRTUALSERVICES, o.namespace, o.routeName ?? o.service);
  const http =
    (vs?.spec as { http?: { route?: { destination?: { subset?: string } }[] }[] } | undefined)?.http ?? [];
  return http.some((r) => (r.route ?? []).some((d) => d.destination?.subset));
}

/** Subset-level Istio: the DestinationRule of the host must name a stable and a canary subset. */
async function destinationSubsets(
  o: CanaryOptions,
  objects: KubeObjects,
): Promise<Record<string, Record<string, string>>> {
  const rules = await objects.list<KubeObject>(DESTINATIONRULES, o.namespace);
  const rule = rules.items.find(
    (r) => ((r.spec as { host?: string } | undefined)?.host ?? '').split('.')[0] === o.service,
  );
  const subsets = Object.fromEntries(
    (
      (rule?.spec as { subsets?: { name: string; labels?: Record<string, string> }[] } | undefined)
        ?.subsets ?? []
    ).map((s) => [s.name, s.labels ?? {}]),
  );
  if (!subsets[STABLE] || !subsets[CANARY]) {
    throw new Error(
      `the VirtualService routes by subset, so the DestinationRule of host ${o.service} needs subsets "${STABLE}" and "${CANARY}"${rule ? ` (DestinationRule ${rule.metadata.name} has ${Object.keys(subsets).join(', ') || 'none'})` : ' (there is none)'}; for example subset canary with labels ${o.versionLabel}: canary, and subset stable with a label only the stable's pods carry`,
    );
  }
  return subsets;
}
