/**
 * The messages of the `stream_nb.panel` comm (the kernel side, and the whole protocol, is
 * `stream_nb/notebook/panel.py`). The kernel decides everything a query shows: its state, its label and which
 * buttons it offers; the front end only renders it.
 *
 * kernel -> front end: at `import stream_nb`, the kernel opens a comm with `{ hello: version, queries }` and
 * keeps it; then `{ queries }` on it whenever something changed (every front end reads it from IOPub).
 * front end -> kernel: a comm of its own, opened with `{ action: 'subscribe' }`; then `{ action, name }`, which
 * the kernel answers on that comm with `{ done, name, message }` or `{ error, name, action }`.
 * kernel -> front end, on its comm too: `{ notify: NOTICE }`, a row of an `sn.sinks.notify` sink (`notify.ts`).
 */

/** The comm target, on both sides. */
export const TARGET = 'stream_nb.panel';

/** What the panel's buttons ask of a query. */
export type Action = 'pause' | 'resume' | 'step' | 'stop';

/** One button as the kernel says to show it (`stream_nb.engine.lifecycle.buttons`). */
export interface IButton {
  action: Action;
  enabled: boolean;
}

/** One query, as the kernel describes it (`panel.record`). */
export interface IQuery {
  name: string;
  id: string;
  /** Where its batches run: "stream_nb" (in the kernel) or "spark" (`engine="spark"`). */
  engine: string;
  /** `q.state`'s value: running, waiting, manual, paused, stopped or failed (for styling). */
  state: string;
  label: string;
  message: string;
  /** Whether its batches run by themselves (what the status bar counts). */
  running: boolean;
  /** The three buttons, in order: pause or resume, step, stop. */
  buttons: IButton[];
  batchId: number | null;
  inputRowsPerSecond: number | null;
  processedRowsPerSecond: number | null;
  watermark: string | null;
  stateRows: number | null;
  error: string | null;
  /** Processed rows a second of the recent batches (a continuous query: input rows of its epochs), oldest first. */
  rates: number[];
  /** Rows processed as they arrive (`trigger="continuous"`): batchId is the epoch. */
  continuous?: boolean;
  /** A continuous query's last epoch: arrival-to-sink latency in ms (null where the source gives no arrival time). */
  latencyMs?: {
    p50?: number | null;
    p99?: number | null;
    max?: number | null;
  } | null;
}

export interface IUpdate {
  queries: IQuery[];
}

/** The kernel's answer to an action: what was done, or why not. */
export interface IActionReply {
  name: string;
  done?: Action;
  message?: string;
  action?: Action;
  error?: string;
}

export function isUpdate(data: unknown): data is IUpdate {
  return (
    typeof data === 'object' &&
    data !== null &&
    Array.isArray((data as IUpdate).queries)
  );
}

export function isActionReply(data: unknown): data is IActionReply {
  if (typeof data !== 'object' || data === null) {
    return false;
  }
  const reply = data as IActionReply;
  return typeof reply.error === 'string' || typeof reply.message === 'string';
}
