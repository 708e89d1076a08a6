import { countAdmin, partialFailure } from './admin.js';
import { matchingKeys } from './query.js';
import type { SessionStore } from './types.js';

export interface RemoveOptions {
  /** Ids named by the user (normalised keys). */
  ids: string[];
  sni?: string;
  expired?: boolean;
  now: number;
  dryRun?: boolean;
  /** Asked with the number of sessions when more than one would go; false cancels. */
  confirm?: (count: number) => Promise<boolean>;
}

export interface RemoveResult {
  removed: string[];
  /** Named ids that were not in the store. */
  missing: string[];
  dryRun: boolean;
  cancelled: boolean;
}

/** Work out what goes (named ids that exist, plus the selections), confirm, remove. */
export async function removeSessions(store: SessionStore, options: RemoveOptions): Promise<RemoveResult> {
  const targets = new Set<string>();
  const missing: string[] = [];
  for (const id of options.ids) {
    if (await store.lookup(id)) targets.add(id);
    else missing.push(id);
  }
  const selections = [
    ...(options.sni === undefined ? [] : [{ sni: options.sni }]),
    ...(options.expired ? [{ state: 'expired' as const }] : []),
  ];
  for (const query of selections) for (const key of await matchingKeys(store, query, options.now)) targets.add(key);

  const keys = [...targets];
  const dryRun = options.dryRun === true;
  if (!dryRun && keys.length > 1 && options.confirm && !(await options.confirm(keys.length))) {
    return { removed: [], missing, dryRun, cancelled: true };
  }
  const removed: string[] = [];
  try {
    for (const key of keys) {
      if (dryRun || (await store.delete(key))) removed.push(key);
    }
  } catch (err) {
    // Each removal stands on its own: say how many went before the failure.
    if (!dryRun) await countAdmin(store, { admin_removals: removed.length }, '').catch(() => {});
    throw partialFailure(err, `${removed.length} of ${keys.length} session${keys.length === 1 ? '' : 's'} removed before it failed`);
  }
  if (!dryRun) await countAdmin(store, { admin_removals: removed.length }, `${removed.length} removed`);
  return { removed, missing, dryRun, cancelled: false };
}
