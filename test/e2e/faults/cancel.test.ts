/**
 * Cancel and a lost runner, end to end. SIGINT (the runner's cancel) as each engine phase of
 * blue-green, rolling (with and without checks), both rollbacks and a canary opens its log group: the run stops, puts back
 * what it changed, and exits non-zero with traffic on the version that served before. SIGKILL
 * mid-rollout, after the switch or mid-step (nothing runs after it: no undo, no release), then
 * "Re-run jobs" (the same run, attempt 2): the re-run takes the lock over at once and ends with
 * the goal reached or traffic on a known-good version, and no lease left; a canary's re-run
 * continues from the step it was killed in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { live } from '../fixtures.js';
import { locate, PhaseTap, recordHealthy } from './matrix.js';
import { scenario, type Scenario, type Traffic } from './scenarios.js';
import { isWrite, NAMESPACE, Stage, type RunOptions } from './stage.js';

/** Holds the first request of the phase being cancelled, so the SIGINT lands while the phase runs. */
const HOLD_MS = 1500;

/** Blue-green with gates, so pre-switch and post-switch are phases that take time and make requests. */
const gatedBlueGreen: Scenario = {
  ...scenario('deploy-blue-green (service)'),
  inputs: {
    ...scenario('deploy-blue-green (service)').inputs,
    'pre-switch-checks': '- { kind: pods, deployment: "${deployment}" }',
    'pre-switch-duration': '2s',
    'post-switch-checks': '- { kind: pods, deployment: "${deployment}" }',
    'verify-duration': '2s',
    'check-interval': '250ms',
  },
};

/** deploy-rolling with checks, so verify is a phase that takes time and makes requests. */
const gatedRolling: Scenario = {
  ...scenario('deploy-rolling'),
  name: 'deploy-rolling v1 → v2 with checks',
  inputs: {
    ...scenario('deploy-rolling').inputs,
    checks: '- { kind: pods, deployment: web }',
    'verify-duration': '2s',
    'check-interval': '250ms',
  },
};

type Recorded = Awaited<ReturnType<typeof recordHealthy>>;

/** A latency rule on the first request `phase` made in the healthy run, if it made one. */
function holdPhase(recorded: Recorded, phase: string): Pick<RunOptions, 'fault'> {
  const first = recorded.requests.findIndex((r) => r.phase === phase);
  return first < 0 ? {} : { fault: { ...locate(recorded.requests, first), latencyMs: HOLD_MS } };
}

function describeCancels(s: Scenario, expectedPhases: string[]): void {
  describe(`SIGINT at each phase: ${s.name}`, () => {
    let stage: Stage;
    let recorded: Recorded;
    beforeAll(async () => {
      stage = await Stage.open(s);
      recorded = await recordHealthy(stage);
    }, 120_000);
    afterAll(async () => stage?.close());

    it('runs the phases this test cancels in', () => {
      expect(recorded.phases).toEqual(expectedPhases);
    });

    // finish (blue-green) and autoscaler (blue-green rollback) run once the goal is reached: a
    // cancel then has nothing left to stop.
    const cancellable = expectedPhases.filter((p) => p !== 'finish' && p !== 'autoscaler');
    cancellable.forEach((phase, i) => {
      it(`cancelled in ${phase}: exits non-zero, traffic on the version that served before`, async () => {
        const run = await stage.run({
          cancelWhen: new RegExp(`::group::${phase}\\n`),
          ...holdPhase(recorded, phase),
        });
        expect(run.result.cancelled).toBe(true);
        expect(run.verdict.problems, `${run.verdict.traffic.detail}\n${run.result.log}`).toEqual([]);
        expect(run.result.exitCode).not.toBe(0);
        expect(run.verdict.traffic.on).toBe('old');
        // Stopped in that phase, or as the next began: a request made without the run's signal
        // (the switch write, for one, is never cut in half) ends before the cancel is seen. A
        // phase with nothing to do (warm-up of a colour that is warm) makes no request to hold,
        // so the cancel lands in whichever later phase is running when the signal arrives.
        const holdable = recorded.requests.some((r) => r.phase === phase);
        const stoppedIn = (holdable ? [phase, expectedPhases[i + 1]] : expectedPhases.slice(i)).join('|');
        expect(run.result.errors.join('\n')).toMatch(
          new RegExp(`failed in phase (${stoppedIn}): the run was cancelled`),
        );
      }, 60_000);
    });
  });
}

describeCancels(gatedBlueGreen, [
  'prepare',
  'apply',
  'rollout',
  'pre-switch',
  'switch',
  'verify',
  'post-switch',
  'finish',
]);
describeCancels(scenario('deploy-rolling'), ['prepare', 'apply', 'rollout']);
describeCancels(gatedRolling, ['prepare', 'apply', 'rollout', 'verify']);
describeCancels(scenario('rollback of a rolling app'), ['prepare', 'restore', 'rollout']);
// The canary's ramp: every step and the promotion are undone by the abort (and promote by its template put back).
describeCancels(scenario('canary-step (istio host'), [
  'prepare',
  'canary',
  'step 50',
  'step 100',
  'promote',
  'finish',
]);
describeCancels(scenario('rollback of a blue-green app'), [
  'prepare',
  'warm-up',
  'rollout',
  'switch',
  'verify',
  'autoscaler',
]);

/** Where to kill, which phase to hold so the kill lands in it, and what the kill leaves (judged from the store). */
interface Kill {
  at: string;
  hold: string;
  leaves: Traffic['on'][];
}

function describeKills(s: Scenario, kills: Kill[]): void {
  describe(`SIGKILL, then a re-run of the same run: ${s.name}`, () => {
    let stage: Stage;
    let recorded: Recorded;
    beforeAll(async () => {
      stage = await Stage.open(s);
      recorded = await recordHealthy(stage);
    }, 120_000);
    afterAll(async () => stage?.close());

    for (const { at, hold, leaves } of kills) {
      it(`killed as ${at} opens, re-run as attempt 2: goal reached or traffic on a known-good version, no lease left`, async () => {
        const runId = String(7000 + kills.findIndex((k) => k.at === at));
        const killed = await stage.run({
          killWhen: new RegExp(`::group::${at}\\n`),
          env: { GITHUB_RUN_ID: runId, GITHUB_RUN_ATTEMPT: '1' },
          keepState: true,
          ...holdPhase(recorded, hold),
        });
        expect(killed.result.signal, killed.result.log).toBe('SIGKILL');
        expect(leaves, killed.verdict.traffic.detail).toContain(killed.verdict.traffic.on);
        // Killed mid-deploy: the lease is still there, held by attempt 1.
        expect(killed.verdict.problems).toContain('lease left behind');

        const rerun = await stage.run({ env: { GITHUB_RUN_ID: runId, GITHUB_RUN_ATTEMPT: '2' } });
        expect(rerun.result.log).toContain('held by attempt 1 of this run');
        expect(rerun.verdict.problems, `${rerun.verdict.traffic.detail}\n${rerun.result.log}`).toEqual([]);
        expect(['new', 'old']).toContain(rerun.verdict.traffic.on);
      }, 120_000);
    }
  });
}

// The new template is applied and not confirmed: mid-rollout, or done without the action seeing it.
describeKills(scenario('deploy-rolling'), [
  { at: 'rollout', hold: 'rollout', leaves: ['unrestored', 'new'] },
]);
describeKills(scenario('deploy-blue-green (service)'), [
  // The idle colour rolls out; nothing that serves traffic has changed.
  { at: 'rollout', hold: 'rollout', leaves: ['old'] },
  // verify opens right after the switch write was stored: traffic moved, nothing confirmed it.
  { at: 'verify', hold: 'verify', leaves: ['new', 'stranded'] },
]);

describe('SIGKILL mid-step, then status and a re-run of the same run: canary-step', () => {
  const canary = scenario('canary-step (istio host');
  let stage: Stage;
  beforeAll(async () => {
    stage = await Stage.open(canary);
  }, 120_000);
  afterAll(async () => stage?.close());

  it('killed while step 100 is gated: status says progressing at 100; the re-run promotes without shifting a passed step again', async () => {
    const attempt = (n: number): RunOptions['env'] => ({
      GITHUB_RUN_ID: '7100',
      GITHUB_RUN_ATTEMPT: String(n),
    });
    // Step 50 passed and was recorded; step 100's weight is written and its gate is running.
    const killed = await stage.run({ killWhen: /^100%: checks /m, env: attempt(1), keepState: true });
    expect(killed.result.signal, killed.result.log).toBe('SIGKILL');
    expect(killed.verdict.traffic.on, killed.verdict.traffic.detail).toBe('stranded');
    expect(killed.verdict.traffic.detail).toContain('"cart-canary":100');
    expect(killed.verdict.problems).toContain('lease left behind');

    const status = await stage.run({ inputs: { app: 'cart', action: 'status' }, keepState: true });
    expect(status.result.exitCode, status.result.log).toBe(0);
    expect(status.result.outputs).toMatchObject({ phase: 'progressing', weight: '100' });
    expect(status.audit.filter(isWrite)).toEqual([]);

    const tap = new PhaseTap(() => stage.sandbox.audit.entries.filter((e) => e.target === 'api').length);
    const rerun = await stage.run({ env: attempt(2), onOutput: tap.onOutput, keepState: true });
    try {
      expect(rerun.result.log).toContain('held by attempt 1 of this run');
      expect(rerun.verdict.problems, `${rerun.verdict.traffic.detail}\n${rerun.result.log}`).toEqual([]);
      expect(rerun.result.exitCode).toBe(0);
      expect(rerun.verdict.traffic.on).toBe('new');
      // Step 50 passed in attempt 1: not run again. Step 100's weight and header route were in the
      // route already: the resumed step reads them back and gates, without a write.
      expect(tap.phases()).toEqual(['prepare', 'canary', 'step 100', 'promote', 'finish']);
      const routeWrites = rerun.audit
        .map((e, i) => ({ e, phase: tap.phaseOf(i, e) }))
        .filter(({ e }) => isWrite(e) && e.path.includes('/virtualservices/'))
        .map(({ phase }) => phase);
      expect(routeWrites).toEqual(['promote', 'finish']);
      // The record, on the stable since the promotion: each step once, each passed.
      const record = JSON.parse(
        live(stage.sandbox, 'Deployment', NAMESPACE, 'cart')?.metadata.annotations?.[
          'cd-actions.dev/record'
        ] ?? '{}',
      ) as { canary?: { state: string; history: { weight: number; verdict?: string }[] } };
      expect(record.canary?.state).toBe('promoted');
      expect(record.canary?.history.map((h) => [h.weight, h.verdict])).toEqual([
        [50, 'pass'],
        [100, 'pass'],
      ]);
    } finally {
      await stage.reset();
    }
  }, 180_000);
});
