import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { RECORD_ANNOTATION, REVISION_ANNOTATION } from '../../kube/annotations.js';
import type { KubeObject } from '../../manifests/manifests.js';
import {
  CANARY,
  canaryDeployment,
  canaryPodLabels,
  canaryService,
  parseCookieRoute,
  parseHeaderRoute,
  parseSteps,
  promotedTemplate,
  replicasFor,
  STEPS_FORM,
  type CanaryLabels,
} from './plan.js';

/** What the API server accepts as a label value. */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

describe('parseSteps', () => {
  it('reads the comma form, with or without percent signs', () => {
    expect(parseSteps('5,25,50,100')).toEqual({
      steps: [{ weight: 5 }, { weight: 25 }, { weight: 50 }, { weight: 100 }],
      problems: [],
    });
    expect(parseSteps(' 10% , 100% ')).toEqual({ steps: [{ weight: 10 }, { weight: 100 }], problems: [] });
    // A single step is a number once the input's YAML is read.
    expect(parseSteps(parse('100'))).toEqual({ steps: [{ weight: 100 }], problems: [] });
  });

  it('reads a YAML list with a pause and checks per step', () => {
    const checks = [{ kind: 'http', url: 'https://shop.example.com/health' }];
    const doc = parse(
      `- weight: 5\n  pause: 10m\n  checks:\n    - { kind: http, url: "https://shop.example.com/health" }\n- 50\n- weight: 100\n  pause: 1h30m\n`,
    ) as unknown;
    expect(parseSteps(doc)).toEqual({
      steps: [{ weight: 5, pauseMs: 600_000, checks }, { weight: 50 }, { weight: 100, pauseMs: 5_400_000 }],
      problems: [],
    });
  });

  it.each([
    [
      'weights that do not increase',
      '5,50,50,100',
      'step 3: weight 50 does not increase on 50; weights must increase',
    ],
    ['weights that go down', '50,25', 'step 2: weight 25 does not increase on 50; weights must increase'],
    ['a weight over 100', '50,150', 'step 2: weight "150" is not a whole percentage from 1 to 100'],
    ['a weight of 0', '0,100', 'step 1: weight "0" is not a whole percentage from 1 to 100'],
    ['a fraction', '2.5,100', 'step 1: weight "2.5" is not a whole percentage from 1 to 100'],
    ['an empty step', '5,,100', 'step 2: weight "" is not a whole percentage from 1 to 100'],
    [
      'a step without a weight',
      [{ pause: '1m' }],
      'step 1: weight null is not a whole percentage from 1 to 100',
    ],
    [
      'an unknown key',
      [{ weight: 5, wait: '1m' }],
      'step 1: unknown key "wait"; a step has weight, pause and checks',
    ],
    [
      'a pause without a unit',
      [{ weight: 5, pause: 30 }],
      'step 1: pause 30 is not a duration such as 30s, 10m or 1h',
    ],
    [
      'a pause that is not a duration',
      [{ weight: 5 }, { weight: 10, pause: 'soon' }],
      'step 2: pause "soon" is not a duration such as 30s, 10m or 1h',
    ],
    [
      'a zero pause',
      [{ weight: 5, pause: '0s' }],
      'step 1: pause "0s" is not a duration such as 30s, 10m or 1h',
    ],
    [
      'checks that are not a list',
      [{ weight: 5, checks: { kind: 'http' } }],
      'step 1: checks must be a YAML list of health-gate checks',
    ],
  ])('names the step and the accepted form for %s', (_what, value, problem) => {
    expect(parseSteps(value).problems).toEqual([problem]);
  });

  it('reports every problem, not only the first', () => {
    expect(parseSteps('0,50,40,101').problems).toEqual([
      'step 1: weight "0" is not a whole percentage from 1 to 100',
      'step 3: weight 40 does not increase on 50; weights must increase',
      'step 4: weight "101" is not a whole percentage from 1 to 100',
    ]);
  });

  it('says what is accepted when there are no steps at all', () => {
    for (const value of [undefined, null, [], { weight: 5 }]) {
      expect(parseSteps(value).problems).toEqual([`no steps: expected ${STEPS_FORM}`]);
    }
  });

  it('takes only decimal percentages, not the other number forms JavaScript reads', () => {
    for (const text of ['0x10', '1e1', '0b11']) {
      expect(parseSteps(`${text},100`).problems, text).toEqual([
        `step 1: weight "${text}" is not a whole percentage from 1 to 100`,
      ]);
    }
  });
});

describe('parseHeaderRoute', () => {
  it.each([
    ['canary=true', { header: 'canary', match: 'exact', value: 'true' }],
    [' X-Canary = always ', { header: 'x-canary', match: 'exact', value: 'always' }],
    ['x-user^=test-', { header: 'x-user', match: 'prefix', value: 'test-' }],
    ['x-user=~^(alice|bob)$', { header: 'x-user', match: 'regex', value: '^(alice|bob)$' }],
    ['x-build=a=b', { header: 'x-build', match: 'exact', value: 'a=b' }],
  ])('reads %j', (text, route) => {
    expect(parseHeaderRoute(text)).toEqual({ ...route, to: CANARY });
  });

  it.each([
    ['a regular expression that does not compile', 'x-user=~(alice'],
    ['no value', 'canary='],
    ['no operator', 'canary'],
    ['no header', '=true'],
    ['a space in the header name', 'x user=1'],
    ['a character not allowed in a header name', 'x(user)=1'],
    ['a slash in the header name', 'x/user=1'],
  ])('refuses %s', (_what, text) => {
    expect(parseHeaderRoute(text)).toBeUndefined();
  });
});

const template: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    namespace: 'shop',
    labels: { app: 'web', team: 'checkout' },
    annotations: {
      [RECORD_ANNOTATION]: '{"deploy":1}',
      [REVISION_ANNOTATION]: '7',
      'kubectl.kubernetes.io/last-applied-configuration': '{}',
      'acme.com/owner': 'checkout',
    },
  },
  spec: {
    replicas: 10,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web', tier: 'front' }, annotations: { 'prometheus.io/scrape': 'true' } },
      spec: { containers: [{ name: 'web', image: 'ghcr.io/acme/web:2.0.0' }] },
    },
  },
};

interface DeploymentView {
  metadata: KubeObject['metadata'];
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      spec: unknown;
    };
  };
}

const labels = (separate: boolean): CanaryLabels => ({
  versionLabel: 'version',
  separate,
  selected: { app: 'web' },
});

describe('canaryDeployment', () => {
  it('keeps the stable Service’s selected labels when the router picks the canary by version label', () => {
    const d = canaryDeployment(template, {
      ...labels(false),
      extra: { 'istio-subset': 'canary' },
      name: 'web-canary',
      namespace: 'shop',
      replicas: 1,
    }) as unknown as DeploymentView;
    expect(d.metadata.name).toBe('web-canary');
    expect(d.metadata.namespace).toBe('shop');
    expect(d.spec.replicas).toBe(1);
    expect(d.spec.selector.matchLabels).toEqual({ app: 'web', version: 'canary' });
    expect(d.spec.template.metadata.labels).toEqual({
      app: 'web',
      tier: 'front',
      version: 'canary',
      'istio-subset': 'canary',
    });
  });

  it('renames the selected labels with -canary when its pods must stay out of the stable Service', () => {
    const d = canaryDeployment(template, {
      ...labels(true),
      name: 'web-canary',
      namespace: 'shop',
      replicas: 2,
    }) as unknown as DeploymentView;
    expect(d.spec.selector.matchLabels).toEqual({ app: 'web-canary', version: 'canary' });
    // Only the labels the stable selects on change; the others are the new version's own.
    expect(d.spec.template.metadata.labels).toEqual({ app: 'web-canary', tier: 'front', version: 'canary' });
  });

  it('carries the new version’s template and metadata, without what belongs to the stable’s history', () => {
    const d = canaryDeployment(template, {
      ...labels(true),
      name: 'web-canary',
      namespace: 'shop',
      replicas: 2,
    }) as unknown as DeploymentView;
    expect(d.spec.template.spec).toEqual({ containers: [{ name: 'web', image: 'ghcr.io/acme/web:2.0.0' }] });
    expect(d.spec.template.metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true' });
    expect(d.metadata.labels).toEqual({
      app: 'web',
      team: 'checkout',
      version: 'canary',
      'app.kubernetes.io/managed-by': 'cd-actions',
    });
    expect(d.metadata.annotations).toEqual({ 'acme.com/owner': 'checkout' });
    // The manifest it came from is not changed.
    expect((template.spec as DeploymentView['spec']).selector.matchLabels).toEqual({ app: 'web' });
  });
});

describe('canaryPodLabels', () => {
  it('renames only the labels whose value is the one selected on', () => {
    expect(
      canaryPodLabels(
        { app: 'other', track: 'main' },
        { versionLabel: 'version', separate: true, selected: { app: 'web', track: 'main' } },
      ),
    ).toEqual({ app: 'other', track: 'main-canary', version: 'canary' });
  });

  it.each([62, 63])(
    'keeps a %i-character selected value apart from the stable and a valid label value',
    (length) => {
      const value = 'w'.repeat(length);
      const canary = canaryPodLabels(
        { app: value },
        { versionLabel: 'version', separate: true, selected: { app: value } },
      ).app!;
      expect(canary).not.toBe(value);
      expect(canary.length).toBeLessThanOrEqual(63);
      expect(canary).toMatch(LABEL_VALUE);
    },
  );
});

describe('canaryService', () => {
  const stable: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop', resourceVersion: '9', labels: { app: 'web' } },
    spec: {
      type: 'NodePort',
      clusterIP: '10.0.0.7',
      selector: { app: 'web' },
      ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', nodePort: 30080 }, { port: 9090 }],
    },
  };

  it('selects the canary’s pods on the stable’s ports, and nothing the cluster assigned', () => {
    const svc = canaryService(stable, { ...labels(true), name: 'web-canary', namespace: 'shop', app: 'web' });
    expect(svc).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'web-canary',
        namespace: 'shop',
        labels: { 'app.kubernetes.io/managed-by': 'cd-actions', 'cd-actions.dev/app': 'web' },
      },
      spec: {
        selector: { app: 'web-canary', version: 'canary' },
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }, { port: 9090 }],
      },
    });
  });

  it('selects by the version label alone when the pods share the stable’s labels', () => {
    const svc = canaryService(stable, {
      ...labels(false),
      name: 'web-canary',
      namespace: 'shop',
      app: 'web',
    });
    expect((svc.spec as { selector: unknown }).selector).toEqual({ app: 'web', version: 'canary' });
  });
});

describe('promotedTemplate', () => {
  it('takes the new pod template and keeps the labels the stable’s selector and routing select on', () => {
    const live: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        selector: { matchLabels: { app: 'web', track: 'main' } },
        template: { metadata: { labels: { app: 'web', track: 'main', version: 'stable' } } },
      },
    };
    const next: KubeObject = {
      ...template,
      spec: {
        ...(template.spec as object),
        template: {
          metadata: { labels: { app: 'renamed', tier: 'front' }, annotations: { a: '1' } },
          spec: { containers: [{ name: 'web', image: 'ghcr.io/acme/web:2.0.0' }] },
        },
      },
    };
    expect(promotedTemplate(live, next, { version: 'stable' })).toEqual({
      metadata: {
        labels: { app: 'web', track: 'main', tier: 'front', version: 'stable' },
        annotations: { a: '1' },
      },
      spec: { containers: [{ name: 'web', image: 'ghcr.io/acme/web:2.0.0' }] },
    });
  });
});

describe('replicasFor', () => {
  it.each([
    [5, 10, 1],
    [25, 10, 3],
    [50, 10, 5],
    [100, 10, 10],
    [33, 3, 1],
    [34, 3, 2],
    [1, 1, 1],
    [50, 0, 1],
  ])('a weight of %i over %i stable replicas gives %i canary replica(s)', (weight, stable, replicas) => {
    expect(replicasFor(weight, stable)).toBe(replicas);
  });
});

describe('parseCookieRoute', () => {
  it('is a regular expression on the Cookie header that finds the cookie among others', () => {
    const route = parseCookieRoute('canary=always')!;
    expect(route).toMatchObject({ header: 'cookie', match: 'regex', to: 'canary' });
    const re = new RegExp(route.value);
    expect(re.test('canary=always')).toBe(true);
    expect(re.test('session=abc; canary=always; theme=dark')).toBe(true);
    expect(re.test('notcanary=always')).toBe(false);
    expect(re.test('canary=alwaysx')).toBe(false);
    expect(re.test('canary=never')).toBe(false);
  });

  it.each(['canary', 'can ary=1', 'canary=a;b', 'canary=a,b', '=always'])('refuses %j', (text) => {
    expect(parseCookieRoute(text)).toBeUndefined();
  });
});
