/**
 * The call log: one `calls` row per call, written as the call moves (invited, answered, ended), read by
 * `GET /api/calls` (a user's own calls, made or received). Rows are keyed by the call's public id.
 */
import { Op } from 'sequelize';
import type { CallView } from '../contract/signalling.js';
import { CALL_OUTCOMES, type CallOutcome } from '../contract/rest.js';
import type { Call, Models } from '../db/index.js';
import { durationOf, type CallRecord } from './CallRecord.js';

export class CallLog {
  readonly #models: Pick<Models, 'Call' | 'User'>;
  readonly #avatarUrl: (userId: number) => string;

  constructor(models: Pick<Models, 'Call' | 'User'>, avatarUrl: (userId: number) => string) {
    this.#models = models;
    this.#avatarUrl = avatarUrl;
  }

  /** A new call (ringing, or already over: an invitation to a busy user). */
  async opened(call: CallRecord): Promise<void> {
    await this.#models.Call.create({
      id: call.id,
      callerId: call.caller.userId,
      calleeId: call.callee.userId,
      outcome: call.outcome,
      createdAt: new Date(call.createdAt),
      ...this.#progress(call),
    });
  }

  /** The call was answered or ended. */
  async changed(call: CallRecord): Promise<void> {
    await this.#models.Call.update({ outcome: call.outcome, ...this.#progress(call) }, { where: { id: call.id } });
  }

  /** The outcome of a call the store no longer holds, or null when there never was such a call. */
  async outcomeOf(callId: string): Promise<CallOutcome | null> {
    const row = await this.#models.Call.findByPk(callId, { attributes: ['outcome'] });
    return row?.outcome ?? null;
  }

  /** Calls left ringing or answered by processes that stopped (the store forgot them): they failed. */
  async openCalls(limit: number): Promise<string[]> {
    const rows = await this.#models.Call.findAll({
      where: { outcome: ['ringing', 'answered'] },
      attributes: ['id'],
      limit,
    });
    return rows.map((r) => r.id);
  }

  async markFailed(callId: string, at: Date): Promise<void> {
    await this.#models.Call.update(
      { outcome: 'failed', endedAt: at, endReason: 'failed' },
      { where: { id: callId, outcome: ['ringing', 'answered'] } },
    );
  }

  /** A user's calls, made or received, newest first. */
  async list(userId: number, limit: number): Promise<CallView[]> {
    const rows = await this.#models.Call.findAll({
      where: { [Op.or]: [{ callerId: userId }, { calleeId: userId }] },
      include: [
        { model: this.#models.User, as: 'caller', attributes: ['id', 'nickname'] },
        { model: this.#models.User, as: 'callee', attributes: ['id', 'nickname'] },
      ],
      order: [
        ['createdAt', 'DESC'],
        ['id', 'DESC'],
      ],
      limit,
    });
    return rows.map((row) => this.#view(row));
  }

  #progress(call: CallRecord) {
    return {
      answeredAt: call.answeredAt ? new Date(call.answeredAt) : null,
      endedAt: call.endedAt ? new Date(call.endedAt) : null,
      durationMs: durationOf(call),
      endReason: call.endReason,
    };
  }

  #view(row: Call): CallView {
    const user = (id: number, nickname: string | undefined) => ({
      id,
      nickname: nickname ?? '',
      avatarUrl: this.#avatarUrl(id),
    });
    const outcome = CALL_OUTCOMES.includes(row.outcome) ? row.outcome : 'failed';
    return {
      id: row.id,
      caller: user(row.callerId, row.caller?.nickname),
      callee: user(row.calleeId, row.callee?.nickname),
      state: outcome === 'ringing' ? 'ringing' : outcome === 'answered' ? 'accepted' : 'ended',
      outcome,
      createdAt: row.createdAt.toISOString(),
      answeredAt: row.answeredAt?.toISOString() ?? null,
      endedAt: row.endedAt?.toISOString() ?? null,
      durationMs: row.durationMs ?? null,
      endReason: (row.endReason as CallView['endReason']) ?? null,
    };
  }
}
