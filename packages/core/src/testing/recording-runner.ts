/** A Runner for core's tests: it records what is logged, and can act when a phase's group starts or ends. */
import type { Runner } from '../runner/runner.js';

export interface RecordingRunner extends Runner {
  /** Everything in order: info lines as they are, `warning: …` and `group: …` marked. */
  lines: string[];
  warnings: string[];
}

/** `at` runs a hook when the group of that name starts or ends (to inject a fault, or cancel, mid-phase). */
export function recordingRunner(
  at: Record<string, { start?: () => void; end?: () => void }> = {},
): RecordingRunner {
  const lines: string[] = [];
  const warnings: string[] = [];
  return {
    lines,
    warnings,
    info: (text) => lines.push(text),
    warn: (text) => {
      warnings.push(text);
      lines.push(`warning: ${text}`);
    },
    debug: () => undefined,
    group: async (title, work) => {
      lines.push(`group: ${title}`);
      at[title]?.start?.();
      const result = await work();
      at[title]?.end?.();
      return result;
    },
  };
}
