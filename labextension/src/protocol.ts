/**
 * The messages of the `stream_nb.panel` comm (the kernel side is `stream_nb/notebook/panel.py`).
 *
 * kernel -> front end: `{ queries: IQuery[] }`, sent on one comm and read by every front end from the
 * kernel's IOPub stream; `{ error, name, action }` when an action failed; at `import stream_nb`, a comm
 * opened with `{ hello: version }` and closed at once.
 * front end -> kernel: open a comm with `{ action: 'subscribe' }`; then `{ action, name }`.
 */

/** The comm target, on both sides. */
export const TARGET = 'stream_nb.panel';

/** What a query is doing (`stream_nb.notebook.status.state_of`). */
export type QueryState =
  | 'running'
  | 'waiting'
  | 'step'
  | 'paused'
  | 'stopped'
  | 'failed';

/** One query, as the kernel describes it (`panel.record`). */
export interface IQuery {
  name: string;
  id: string;
  state: QueryState;
  label: string;
  message: string;
  batchId: number | null;
  inputRowsPerSecond: number | null;
  processedRowsPerSecond: number | null;
  watermark: string | null;
  stateRows: number | null;
  error: string | null;
  /** Processed rows a second of the recent batches, oldest first. */
  rates: number[];
}

/** What the panel's buttons ask of a query. */
export type Action = 'pause' | 'resume' | 'step' | 'stop';

export interface IUpdate {
  queries: IQuery[];
}

export interface IActionError {
  error: string;
  name: string;
  action: Action;
}

export function isUpdate(data: unknown): data is IUpdate {
  return (
    typeof data === 'object' &&
    data !== null &&
    Array.isArray((data as IUpdate).queries)
  );
}

export function isActionError(data: unknown): data is IActionError {
  return (
    typeof data === 'object' &&
    data !== null &&
    typeof (data as IActionError).error === 'string'
  );
}

/** Whether a query's batches still run (or can be stepped). */
export function isActive(query: IQuery): boolean {
  return query.state !== 'stopped' && query.state !== 'failed';
}
