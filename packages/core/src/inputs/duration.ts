const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;

// Units in falling order, each at most once: `1h30m`, `90s`, `500ms`. No fractions and no
// bare numbers, so `30` can never be misread as seconds when minutes were meant.
const DURATION = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/;

export const DURATION_EXAMPLES = '30s, 5m, 1h or 1h30m';

export type DurationParse = { ok: true; ms: number } | { ok: false; reason?: string };

export function parseDuration(text: string): DurationParse {
  if (/^[+-]?\d+(?:\.\d+)?$/.test(text)) return { ok: false, reason: 'a unit is required (ms, s, m or h)' };
  if (text.startsWith('-') && DURATION.test(text.slice(1)) && text.length > 1) {
    return { ok: false, reason: 'a negative duration is not allowed' };
  }
  const match = text === '' ? null : DURATION.exec(text);
  if (!match) return { ok: false };
  const [, h, m, s, ms] = match;
  const total =
    Number(h ?? 0) * UNIT_MS.h + Number(m ?? 0) * UNIT_MS.m + Number(s ?? 0) * UNIT_MS.s + Number(ms ?? 0);
  if (!Number.isSafeInteger(total)) return { ok: false, reason: 'the duration is too long' };
  return { ok: true, ms: total };
}

/** Milliseconds as the shortest duration text that parses back to the same value. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let text = '';
  for (const unit of ['h', 'm', 's', 'ms'] as const) {
    const count = Math.floor(rest / UNIT_MS[unit]);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * UNIT_MS[unit];
  }
  return text;
}

/** A duration written by the action's author (a min, max or default): a typo there is a bug. */
export function durationLiteral(text: string): number {
  const parsed = parseDuration(text);
  if (!parsed.ok) throw new Error(`"${text}" is not a duration such as ${DURATION_EXAMPLES}`);
  return parsed.ms;
}

/** Milliseconds as `1h 2m`, `3m 5s` or `42s`, the way people read a deploy's duration. */
export function humanDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

/** Milliseconds as seconds with one decimal, `12.3`: the `duration` outputs and the gate's log. */
export function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}
