/**
 * Rows of an `sn.sinks.notify` sink, shown with JupyterLab's Notification API. The kernel sends them on the
 * `stream_nb.panel` comm as `{ notify: NOTICE }` (`stream_nb/sinks/notify.py` decides the message, the rate
 * limit and the summaries; the front end only shows them). A notice with a `key` (the summary of the rows a
 * rate limit held back) updates the notification shown for that key, while it is still there, instead of
 * adding one more.
 */

import { Notification } from '@jupyterlab/apputils';

export interface INotice {
  /** The query whose sink sent it. */
  query: string;
  message: string;
  type: 'info' | 'success' | 'warning' | 'error';
  /** Set on a summary: the same key updates the same notification. */
  key: string | null;
}

export function isNotice(data: unknown): data is { notify: INotice } {
  if (typeof data !== 'object' || data === null) {
    return false;
  }
  const notice = (data as { notify?: INotice }).notify;
  return (
    typeof notice === 'object' &&
    notice !== null &&
    typeof notice.message === 'string'
  );
}

/** Summaries shown, by key: the notification to update (a few at most; dismissed ones are forgotten). */
const shown = new Map<string, string>();

export function showNotice(notice: INotice): void {
  const id = notice.key === null ? undefined : shown.get(notice.key);
  if (id !== undefined && Notification.manager.has(id)) {
    Notification.update({ id, message: notice.message, type: notice.type });
    return;
  }
  // an error stays on screen until dismissed; the others leave after 5 s (all stay under the bell)
  const made = Notification.emit(notice.message, notice.type, {
    autoClose: notice.type === 'error' ? false : 5000
  });
  if (notice.key !== null) {
    for (const [key, old] of shown) {
      if (!Notification.manager.has(old)) {
        shown.delete(key);
      }
    }
    shown.set(notice.key, made);
  }
}
