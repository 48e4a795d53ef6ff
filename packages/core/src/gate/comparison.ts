/**
 * The queries of a comparison built from a template: the same Service and metrics, read once for
 * the canary's version and once for the baseline's, over `$window` (filled in at every sample by
 * checks/compare.ts), so both sides always cover the same requests' time.
 */
import { selector, type TemplateName, type TemplateParams } from './templates.js';
import type { ComparedSide, Comparison } from './types.js';

/** The templates a comparison can be built from, and what each compares. */
export const COMPARED_TEMPLATES: Partial<Record<TemplateName, Comparison['measure']>> = {
  'success-rate': 'error-rate',
  'error-rate': 'error-rate',
  'latency-p95': 'latency',
  'latency-p99': 'latency',
};

export function comparedSide(template: TemplateName, params: TemplateParams, version: string): ComparedSide {
  const side = { ...params, version };
  const requests = `sum(increase(${params.requestsMetric}${selector(side)}[$window]))`;
  if (COMPARED_TEMPLATES[template] === 'error-rate') {
    const failed = selector(side, [`${params.statusLabel}=~"5.."`]);
    // No failed answers is a count of 0, not an empty result that would read as no data.
    return { value: `sum(increase(${params.requestsMetric}${failed}[$window])) or vector(0)`, requests };
  }
  const quantile = template === 'latency-p99' ? '0.99' : '0.95';
  return {
    value: `histogram_quantile(${quantile}, sum by (le) (rate(${params.durationMetric}_bucket${selector(side)}[$window])))`,
    requests,
  };
}
