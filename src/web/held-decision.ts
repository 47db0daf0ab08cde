/**
 * A decision on a held run from the web (its page or the API): the service's, then the queue is
 * woken so the daemon's runner applies an approved run at once (services/held-runs.ts).
 */
import type { SyncRun } from '../db/entities';
import { approveHeldRun, discardHeldRun } from '../services/held-runs';
import type { WebContext } from './context';

export type HeldAction = 'approve' | 'discard';

/** the entities a held run lists (held_removal.entity) */
export const REMOVAL_ENTITIES = ['users', 'courses', 'enrollments'] as const;

export function isHeldAction(v: unknown): v is HeldAction {
  return v === 'approve' || v === 'discard';
}

/** `run` was found through runForViewer (the tenant rule); the caller maps HeldRunError to 404 / 409. */
export async function decideHeldRun(ctx: WebContext, run: SyncRun, action: HeldAction, login: string): Promise<SyncRun> {
  const opts = { visible: (domainId: number) => domainId === run.domainId };
  if (action === 'discard') {
    const discarded = await discardHeldRun(ctx.ds, run.id, login, opts);
    ctx.logger.info('held run discarded', { runId: run.id, by: login });
    return discarded;
  }
  const queued = await approveHeldRun(ctx.ds, run.id, login, opts);
  ctx.wakeQueue();
  ctx.logger.info('held run approved', { runId: run.id, by: login });
  return queued;
}
