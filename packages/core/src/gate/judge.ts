/**
 * Judges one check from its samples so far: failed (a failure rule is met), holding (not enough
 * evidence: too few samples with data, or the latest has none) or passing. No data never
 * counts as a pass unless on-no-data says so, and an unreadable source (error) never does.
 * A sequential comparison is judged by its test over the counts instead of by failure rules,
 * and its pass is final: it may end the gate before its duration.
 */
import { judgeSequential, type Look, type SequentialOptions } from './stats/sequential.js';
import type { FailureRules, LookEvidence, OnNoData, Sample } from './types.js';

export type CheckState =
  | { state: 'failed'; reason: string; evidence?: LookEvidence }
  | { state: 'holding'; reason: string; evidence?: LookEvidence }
  | { state: 'passing'; reason: string; evidence?: LookEvidence; final?: true };

type Effective = 'good' | 'bad' | 'neutral';

export function effectiveOutcome(sample: Sample, onNoData: OnNoData): Effective {
  if (sample.outcome === 'ok') return 'good';
  if (sample.outcome === 'fail') return 'bad';
  if (onNoData === 'fail') return 'bad';
  // An error (source unreachable) is no evidence of health: on-no-data: pass does not apply.
  if (onNoData === 'pass' && !sample.error) return 'good';
  return 'neutral';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

const MIN_LOOKS_TO_PASS = 3;

/** The sequential test over every look that read the counts; looks without them add nothing. */
export function judgeCounts(samples: readonly Sample[], options: SequentialOptions): CheckState {
  const looks = samples.map((s) => s.counts).filter((c): c is Look => c !== undefined);
  const { decision, worse, notWorse, canaryRate, reason } = judgeSequential(looks, options);
  const evidence: LookEvidence = { decision, worse, notWorse, canaryRate };
  const at = `after ${plural(looks.length, 'look')}`;
  if (decision === 'worse') return { state: 'failed', reason: `worse ${at}: ${reason}`, evidence };
  // A pass needs a few looks: one look whose counts lack a series (a late scrape) would weigh a
  // split that is not there, and the next looks, cumulative, put it right.
  if (decision === 'not-worse' && looks.length >= MIN_LOOKS_TO_PASS)
    return { state: 'passing', reason: `not worse ${at}: ${reason}`, evidence, final: true };
  const last = samples.at(-1);
  if (decision === 'not-worse')
    return {
      state: 'holding',
      reason: `not worse ${at} (a pass needs ${MIN_LOOKS_TO_PASS} looks): ${reason}`,
      evidence,
    };
  if (last && last.counts === undefined)
    return { state: 'holding', reason: `the latest sample has no data (${last.detail})`, evidence };
  return { state: 'holding', reason: `${reason} (${at})`, evidence };
}

/**
 * `samples` in order; `minSamples` is the evidence the check needs to pass (at least 1);
 * `sequential`: judged by the sequential test instead of the failure rules.
 */
export function judgeCheck(
  rules: FailureRules,
  samples: readonly Sample[],
  onNoData: OnNoData,
  minSamples: number,
  sequential?: SequentialOptions,
): CheckState {
  if (sequential) return judgeCounts(samples, sequential);
  const effective = samples.map((sample) => effectiveOutcome(sample, onNoData));
  const fatal = samples.findIndex((sample) => sample.fatal === true);
  if (fatal >= 0) return { state: 'failed', reason: `sample ${fatal + 1}: ${samples[fatal]?.detail ?? ''}` };

  const firstBad = effective.indexOf('bad');
  const badCount = effective.filter((e) => e === 'bad').length;
  const lastBad = effective.lastIndexOf('bad');
  const lastBadDetail = lastBad >= 0 ? `: ${samples[lastBad]?.detail ?? ''}` : '';
  if (rules.critical && firstBad >= 0) {
    return {
      state: 'failed',
      reason: `critical check failed at sample ${firstBad + 1}: ${samples[firstBad]?.detail ?? ''}`,
    };
  }
  if (rules.failureLimit !== undefined && badCount > rules.failureLimit) {
    return {
      state: 'failed',
      reason: `${plural(badCount, 'failed sample')}, more than failure-limit ${rules.failureLimit}${lastBadDetail}`,
    };
  }
  // No-data samples neither extend nor break a run of failures: the run is judged on evidence.
  const judged = effective.filter((e) => e !== 'neutral');
  if (rules.consecutive !== undefined) {
    let run = 0;
    for (const e of judged) {
      run = e === 'bad' ? run + 1 : 0;
      if (run >= rules.consecutive) {
        return {
          state: 'failed',
          reason: `${plural(run, 'failed sample')} in a row (consecutive ${rules.consecutive})${lastBadDetail}`,
        };
      }
    }
  }
  if (rules.window) {
    const { failures, of } = rules.window;
    for (let end = 1; end <= judged.length; end++) {
      const recent = judged.slice(Math.max(0, end - of), end);
      const bad = recent.filter((e) => e === 'bad').length;
      if (bad >= failures) {
        return {
          state: 'failed',
          reason: `${bad} of the last ${recent.length} samples failed (m-of-k ${failures} of ${of})${lastBadDetail}`,
        };
      }
    }
  }

  const good = effective.filter((e) => e === 'good').length;
  const needed = Math.max(1, rules.minSamples ?? minSamples);
  const last = samples.at(-1);
  if (last && effective.at(-1) === 'neutral') {
    return { state: 'holding', reason: `the latest sample has no data (${last.detail})` };
  }
  if (good < needed) {
    return { state: 'holding', reason: `${plural(good, 'sample')} with passing data, ${needed} needed` };
  }
  return {
    state: 'passing',
    reason: `${plural(good, 'passing sample')}${badCount > 0 ? `, ${plural(badCount, 'failed sample')} within the rules` : ''}`,
  };
}
