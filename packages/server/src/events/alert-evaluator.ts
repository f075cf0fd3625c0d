import { evaluateAlert, type Evaluation } from '../domain/alert-rule.js';
import type { Store } from '../store/store.js';
import type { Alert, AlertStateRow } from '../store/types.js';
import { alertEventData } from './payloads.js';

export interface AlertOutcome {
  evaluation: Evaluation;
  /** Whether this evaluation changed the state (and wrote an `alert.fired` / `alert.resolved` event). */
  changed: boolean;
  row: AlertStateRow;
}

/**
 * Evaluates one alert now: reads its window, decides the state (domain/alert-rule.ts) and records
 * the evaluation; a change of state writes its event to the outbox in the same transaction.
 */
export async function evaluateAlertNow(store: Store, alert: Alert, publicUrl: string | undefined, now = Date.now()): Promise<AlertOutcome> {
  const dist = await store.alerts.windowDistribution(alert, now - alert.windowMs);
  const evaluation = evaluateAlert(alert, alert.state, dist);
  const { changed, row } = await store.alerts.record(alert, evaluation, now, () => ({
    type: evaluation.state === 'firing' ? 'alert.fired' : 'alert.resolved',
    data: alertEventData(alert, evaluation, now, publicUrl),
  }));
  return { evaluation: { ...evaluation, state: row.state, changed }, changed, row };
}

export interface AlertSchedulerOptions {
  intervalMs: number;
  publicUrl: string | undefined;
  log: { error(obj: object, msg: string): void };
}

/**
 * Evaluates every enabled alert once per interval, off the request path. Each instance looks for due
 * alerts often, but claims each with a compare-and-set of its next evaluation time, so among
 * several instances on one database one evaluates it.
 */
export class AlertScheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly opts: AlertSchedulerOptions,
  ) {}

  start(): void {
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = null;
        this.schedule(Math.min(this.opts.intervalMs, 5000));
      });
    }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      for (;;) {
        const due = await this.store.alerts.claimDue(Date.now(), this.opts.intervalMs, 20);
        for (const alert of due) {
          if (this.stopped) return;
          await evaluateAlertNow(this.store, alert, this.opts.publicUrl);
        }
        if (due.length < 20 || this.stopped) return;
      }
    } catch (err) {
      this.opts.log.error({ err }, 'alert evaluation failed; trying again at the next interval');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
