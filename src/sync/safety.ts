/**
 * The safety threshold: a sync that would remove or deactivate more than a set share of a
 * domain's managed users, courses or enrollments is held for review, changing nothing (a broken
 * export often looks like "everyone left"). Pure, so the rule is easy to test and explain.
 */
export type GuardedKind = 'users' | 'courses' | 'enrollments';

export interface PlannedRemovals {
  kind: GuardedKind;
  /** managed entities of this kind in the domain's scope before the sync */
  managed: number;
  /** how many the sync would remove or deactivate */
  removals: number;
}

export interface SafetyVerdict {
  /** over the threshold and not forced: the sync is held (a validation says an apply would be) */
  refused: boolean;
  /** the kinds over the threshold, with their numbers */
  over: Array<PlannedRemovals & { percent: number }>;
  message: string;
}

export function checkSafety(plan: readonly PlannedRemovals[], thresholdPercent: number, force: boolean): SafetyVerdict {
  const over = plan
    .filter((p) => p.managed > 0 && p.removals > 0)
    .map((p) => ({ ...p, percent: (100 * p.removals) / p.managed }))
    .filter((p) => p.percent > thresholdPercent);
  if (!over.length) return { refused: false, over, message: '' };
  const detail = over
    .map((p) => `${p.removals} of ${p.managed} managed ${p.kind} (${p.percent.toFixed(1)}%)`)
    .join(', ');
  if (force) return { refused: false, over, message: `forced past the safety threshold of ${thresholdPercent}%: removes ${detail}` };
  return {
    refused: true,
    over,
    message: `held: the sync would remove or deactivate ${detail}, more than the safety threshold of ${thresholdPercent}%. ` +
      'Nothing was changed: check the list of removals; approve the run if they are intended, else discard it and fix the export.',
  };
}
