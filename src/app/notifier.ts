/**
 * The engine's notifier, loaded only when the config has notify targets (webhooks or email): most
 * configs have none, and the notifier brings its HTTP client and payload formats (nodemailer only
 * on the first email). It sits in the switchable wrapper
 * from the start, so a reload that adds targets (or removes them all) swaps what events reach.
 */
import type { Clock } from '../clock.js';
import type { MonitorConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { switchableNotifier, type SwitchableNotifier } from '../notify/switchable.js';
import type { Notifier } from '../notify/types.js';

/** The notifier for `targets`; a silent one, without loading anything, when there are none. */
export async function notifierFor(targets: MonitorConfig['notify'], logger: Logger, clock: Clock): Promise<Notifier> {
  if (targets.length === 0) return silent();
  const { createNotifier } = await import('../notify/notifier.js');
  return createNotifier({ targets, logger, clock });
}

/** The switchable notifier a monitor starts with. */
export async function openNotifier(targets: MonitorConfig['notify'], logger: Logger, clock: Clock): Promise<SwitchableNotifier> {
  return switchableNotifier(await notifierFor(targets, logger, clock));
}

/** No targets: every event is dropped before it costs anything. */
function silent(): Notifier {
  return {
    notify: () => undefined,
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
    stats: () => ({ sent: 0, failed: 0, attempts: 0, rateLimited: 0, dropped: 0, pending: 0 }),
  };
}
