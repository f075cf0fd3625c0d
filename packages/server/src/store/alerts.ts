import type { Kysely, Selectable } from 'kysely';
import type { Evaluation } from '../domain/alert-rule.js';
import { parseFilter } from '../domain/search-query.js';
import type { ValueCount } from '../domain/statistics.js';
import { readFor } from './read-scope.js';
import type { AlertsTable, Database } from './schema.js';
import { applyRequestFilter, planTextSearch } from './search-filter.js';
import type { Transaction } from './webhooks.js';
import type { Alert, AlertStateRow, NewAlert } from './types.js';

/** Alerts, their evaluations and the outbox of their state changes (`alert_events`). */
export interface AlertStore {
  create(a: NewAlert, now: number): Promise<Alert>;
  list(workspaceId: number): Promise<Alert[]>;
  get(workspaceId: number, id: number): Promise<Alert | null>;
  setEnabled(workspaceId: number, id: number, enabled: boolean): Promise<Alert | null>;
  remove(workspaceId: number, id: number): Promise<boolean>;
  /** Evaluations of an alert, newest first. */
  history(workspaceId: number, id: number, limit: number): Promise<AlertStateRow[]>;
  /**
   * Claims the enabled alerts due for evaluation: each is moved to its next evaluation `intervalMs`
   * later by an atomic compare-and-set, so among several instances one evaluates it per interval.
   */
  claimDue(now: number, intervalMs: number, limit: number): Promise<Alert[]>;
  /** How many scores of each value the alert's window holds (scores of its name updated since `since`, on requests its filter matches). */
  windowDistribution(alert: Alert, since: number): Promise<ValueCount[]>;
  /**
   * Records an evaluation; when it changes the state (and the state is still what the evaluation
   * started from), writes the state and the event `payload(...)` gives in the same transaction.
   * Resolves with whether this call changed the state.
   */
  record(alert: Alert, e: Evaluation, at: number, payload: (stateRowId: number) => { type: string; data: unknown }): Promise<{ changed: boolean; row: AlertStateRow }>;
}

const toAlert = (r: Selectable<AlertsTable>): Alert => ({
  id: Number(r.id),
  workspaceId: Number(r.workspace_id),
  name: r.name,
  scoreName: r.score_name,
  filter: r.filter === null ? null : (JSON.parse(r.filter) as unknown),
  windowMs: Number(r.window_ms),
  minCount: Number(r.min_count),
  threshold: Number(r.threshold),
  direction: r.direction as Alert['direction'],
  confidence: Number(r.confidence),
  kind: r.kind as Alert['kind'],
  shareValue: r.share_value === null ? null : Number(r.share_value),
  enabled: Number(r.enabled) === 1,
  state: r.state as Alert['state'],
  nextEvaluationAt: Number(r.next_evaluation_at),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

// Evaluations that changed nothing are kept this long, for the chart; state changes forever.
const KEEP_UNCHANGED_MS = 30 * 86_400_000;

export class SqlAlerts implements AlertStore {
  /**
   * @param writeTx the store's write transaction: alert events get ids in commit order, as score
   * events do, so the webhook worker reading past its cursor misses none.
   * @param reads where the window's scores are read, with a deadline.
   */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly reads: Kysely<Database>,
    private readonly writeTx: Transaction,
  ) {}

  async create(a: NewAlert, now: number): Promise<Alert> {
    const row = await this.db
      .insertInto('alerts')
      .values({
        workspace_id: a.workspaceId,
        name: a.name,
        score_name: a.scoreName,
        filter: a.filter === null ? null : JSON.stringify(a.filter),
        window_ms: a.windowMs,
        min_count: a.minCount,
        threshold: a.threshold,
        direction: a.direction,
        confidence: a.confidence,
        kind: a.kind,
        share_value: a.shareValue,
        enabled: 1,
        state: 'ok',
        next_evaluation_at: now,
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toAlert(row);
  }

  async list(workspaceId: number): Promise<Alert[]> {
    return (await this.db.selectFrom('alerts').selectAll().where('workspace_id', '=', workspaceId).orderBy('id').execute()).map(toAlert);
  }

  async get(workspaceId: number, id: number): Promise<Alert | null> {
    const row = await this.db.selectFrom('alerts').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
    return row ? toAlert(row) : null;
  }

  async setEnabled(workspaceId: number, id: number, enabled: boolean): Promise<Alert | null> {
    const row = await this.db
      .updateTable('alerts')
      .set({ enabled: enabled ? 1 : 0, updated_at: Date.now() })
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row ? toAlert(row) : null;
  }

  async remove(workspaceId: number, id: number): Promise<boolean> {
    return this.writeTx(async (trx) => {
      const found = await trx.selectFrom('alerts').select('id').where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
      if (!found) return false;
      await trx.deleteFrom('alert_states').where('alert_id', '=', id).execute();
      await trx.deleteFrom('alerts').where('id', '=', id).execute();
      return true;
    });
  }

  async history(workspaceId: number, id: number, limit: number): Promise<AlertStateRow[]> {
    const rows = await this.db.selectFrom('alert_states').selectAll().where('workspace_id', '=', workspaceId).where('alert_id', '=', id).orderBy('id', 'desc').limit(limit).execute();
    return rows.map((r) => ({
      id: Number(r.id),
      at: Number(r.at),
      state: r.state as AlertStateRow['state'],
      changed: Number(r.changed) === 1,
      count: Number(r.count),
      value: r.value === null ? null : Number(r.value),
      low: r.low === null ? null : Number(r.low),
      high: r.high === null ? null : Number(r.high),
    }));
  }

  async claimDue(now: number, intervalMs: number, limit: number): Promise<Alert[]> {
    const due = await this.db.selectFrom('alerts').selectAll().where('enabled', '=', 1).where('next_evaluation_at', '<=', now).orderBy('next_evaluation_at').limit(limit).execute();
    const claimed: Alert[] = [];
    for (const row of due) {
      const r = await this.db
        .updateTable('alerts')
        .set({ next_evaluation_at: now + intervalMs })
        .where('id', '=', row.id)
        .where('next_evaluation_at', '=', row.next_evaluation_at)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 1) claimed.push(toAlert(row));
    }
    return claimed;
  }

  windowDistribution(alert: Alert, since: number): Promise<ValueCount[]> {
    return readFor(alert.workspaceId, async () => {
      const db = this.reads;
      const filter = alert.filter === null ? null : parseFilter(alert.filter);
      await planTextSearch(db, filter);
      const rows = await db
        .selectFrom('scores')
        .select(['scores.value', (eb) => eb.fn.countAll().as('n')])
        .where('scores.workspace_id', '=', alert.workspaceId)
        .where('scores.name', '=', alert.scoreName)
        .where('scores.updated_at', '>=', since)
        .$if(filter !== null, (qb) => qb.where('scores.request_id', 'in', applyRequestFilter(db.selectFrom('requests').select('requests.id'), alert.workspaceId, filter)))
        .groupBy('scores.value')
        .execute();
      return rows.map((r) => ({ value: Number(r.value), count: Number(r.n) }));
    });
  }

  async record(alert: Alert, e: Evaluation, at: number, payload: (stateRowId: number) => { type: string; data: unknown }): Promise<{ changed: boolean; row: AlertStateRow }> {
    return this.writeTx(async (trx) => {
      let changed = false;
      if (e.changed) {
        const r = await trx.updateTable('alerts').set({ state: e.state, updated_at: at }).where('id', '=', alert.id).where('state', '=', alert.state).executeTakeFirst();
        changed = Number(r.numUpdatedRows) === 1;
      }
      const state = e.changed && !changed ? alert.state : e.state;
      const inserted = await trx
        .insertInto('alert_states')
        .values({ workspace_id: alert.workspaceId, alert_id: alert.id, at, state, changed: changed ? 1 : 0, count: e.count, value: e.value, low: e.low, high: e.high })
        .returning('id')
        .executeTakeFirstOrThrow();
      const rowId = Number(inserted.id);
      if (changed) {
        const p = payload(rowId);
        await trx.insertInto('alert_events').values({ workspace_id: alert.workspaceId, alert_id: alert.id, type: p.type, payload: JSON.stringify(p.data), at }).execute();
      }
      await trx.deleteFrom('alert_states').where('alert_id', '=', alert.id).where('changed', '=', 0).where('at', '<', at - KEEP_UNCHANGED_MS).execute();
      return { changed, row: { id: rowId, at, state, changed, count: e.count, value: e.value, low: e.low, high: e.high } };
    });
  }
}
