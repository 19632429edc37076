/**
 * App dependencies (`depends_on`): while an app's dependency is unhealthy or being remedied, the
 * app's failures are counted but its remedies wait (restarting an API whose database is down
 * heals nothing and adds a second outage); once the dependency is healthy again, its dependents
 * are checked at once and remedied only if they still fail. The config refuses unknown names and
 * cycles, so following dependencies always ends.
 */
import { settlesWithin } from '../clock.js';
import type { AppState } from './decide.js';

/** What a dependent needs to know of one dependency. */
export interface DependencyLook {
  readonly state: AppState;
  /** Resolves once the dependency's check in progress (if any) has made its decision. */
  readonly decided: () => Promise<void>;
}

/** How long a dependent waits for a dependency's check in progress to decide, at most. */
export const DECIDE_WAIT_MS = 30_000;

/**
 * Why the app's remedies wait now, or undefined when none of its dependencies holds them. A
 * dependency checked on the same beat decides first: two hung apps whose failures reach the
 * threshold together must not be restarted together.
 */
export async function dependencyWait(dependsOn: readonly string[], look: (name: string) => DependencyLook | undefined): Promise<string | undefined> {
  for (const name of dependsOn) {
    const dep = look(name);
    if (!dep) continue;
    await settlesWithin(dep.decided(), DECIDE_WAIT_MS);
    const why = notHealthy(look(name)?.state ?? dep.state);
    if (why) return `${name}, which ${why}`;
  }
  return undefined;
}

/** Why a dependency's state holds its dependents (undefined: healthy). */
export function notHealthy(state: AppState): string | undefined {
  switch (state.phase) {
    case 'healthy':
      return undefined;
    case 'remedying':
      return 'is being remedied';
    case 'unknown':
      // Nothing bad known (not checked yet, or inside its startup grace): no reason to hold.
      return undefined;
    case 'stopped':
      return 'is stopped in PM2';
    case 'missing':
      return 'is not in PM2';
    default:
      return `is unhealthy${state.lastReason ? ` (${state.lastReason})` : ''}`;
  }
}
