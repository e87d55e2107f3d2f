/**
 * The Streams side panel: every query of the current notebook's kernel with its state, batch, rows a second
 * (and a sparkline), watermark, state rows and last error, and buttons to pause, resume, step and stop it.
 * The kernel says what each query shows, buttons included (`stream_nb/engine/lifecycle.py`); this renders it.
 */

import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { formatCount, formatLatency, formatRate, formatTime } from './format';
import { StreamsModel } from './model';
import { Action, IQuery } from './protocol';
import { sparkline } from './sparkline';

export class StreamsPanel extends Widget {
  constructor(
    readonly model: StreamsModel,
    private readonly _trans: TranslationBundle
  ) {
    super();
    this.addClass('sn-StreamsPanel');
    this._heading = append(this.node, 'div', 'sn-heading');
    this._note = append(this.node, 'div', 'sn-note');
    this._list = append(this.node, 'div', 'sn-queries');
    this._reply = append(this.node, 'div', 'sn-action-reply');
    model.changed.connect(this._render, this);
    this._render();
  }

  dispose(): void {
    this.model.changed.disconnect(this._render, this);
    super.dispose();
  }

  private _render(): void {
    const link = this.model.current;
    const trans = this._trans;
    this._heading.textContent = this.model.title
      ? trans.__('Streams · %1', this.model.title)
      : trans.__('Streams');
    const queries = link ? link.queries : [];
    this._note.textContent = !link
      ? trans.__('Open a notebook to see its streams.')
      : !link.connected
        ? trans.__(
            'No stream_nb in this notebook\u2019s kernel yet: run %load_ext stream_nb or import stream_nb.'
          )
        : queries.length === 0
          ? trans.__('No queries yet: a %%%%stream cell starts one.')
          : '';
    this._note.hidden = this._note.textContent === '';
    const seen = new Set<string>();
    queries.forEach((query, index) => {
      seen.add(query.name);
      let row = this._rows.get(query.name);
      if (!row) {
        row = new QueryRow(
          (action, name) => this.model.current?.act(action, name),
          trans
        );
        this._rows.set(query.name, row);
      }
      row.update(query);
      if (this._list.children[index] !== row.node) {
        this._list.insertBefore(row.node, this._list.children[index] ?? null);
      }
    });
    for (const [name, row] of this._rows) {
      if (!seen.has(name)) {
        row.node.remove();
        this._rows.delete(name);
      }
    }
    this._renderReply();
  }

  /** What the last click did, or why not; while it waits for the kernel, why it waits. */
  private _renderReply(): void {
    const link = this.model.current;
    const pending = link?.pending;
    const reply = link?.lastReply;
    let text = '';
    let failed = false;
    if (pending) {
      text = link?.waitsForCell
        ? this._trans.__(
            '%1 %2: sent; the kernel is running a cell and takes the click when the cell ends ' +
              '(this kernel has no subshells to take it meanwhile)',
            pending.action,
            pending.name
          )
        : this._trans.__('%1 %2: sent', pending.action, pending.name);
    } else if (reply) {
      failed = reply.error !== undefined;
      text = failed
        ? `${reply.action} ${reply.name}: ${reply.error}`
        : (reply.message ?? '');
    }
    this._reply.textContent = text;
    this._reply.dataset.outcome = pending
      ? 'pending'
      : failed
        ? 'error'
        : 'done';
    this._reply.classList.toggle('sn-action-error', failed);
    this._reply.hidden = text === '';
  }

  private _heading: HTMLElement;
  private _note: HTMLElement;
  private _list: HTMLElement;
  private _reply: HTMLElement;
  private _rows = new Map<string, QueryRow>();
}

/** One query's row; updated in place, so a button under the pointer stays the same element. */
class QueryRow {
  constructor(
    act: (action: Action, name: string) => void,
    private readonly _trans: TranslationBundle
  ) {
    this.node = document.createElement('div');
    this.node.className = 'sn-query';
    const head = append(this.node, 'div', 'sn-query-head');
    this._name = append(head, 'span', 'sn-name');
    this._badge = append(head, 'span', 'sn-badge');
    this._engine = append(head, 'span', 'sn-engine');
    const rate = append(this.node, 'div', 'sn-line');
    this._batch = append(rate, 'span', 'sn-batch');
    this._rate = append(rate, 'span', 'sn-rate');
    this._spark = append(rate, 'span', 'sn-spark');
    const more = append(this.node, 'div', 'sn-line');
    this._watermark = append(more, 'span', 'sn-watermark');
    this._state = append(more, 'span', 'sn-state-rows');
    this._message = append(this.node, 'div', 'sn-message');
    this._errorText = append(this.node, 'pre', 'sn-query-error');
    const actions = append(this.node, 'div', 'sn-actions');
    for (const action of ['pause', 'step', 'stop'] as const) {
      const button = append(actions, 'button', 'jp-Button sn-button');
      button.dataset.action = action;
      button.textContent = action;
      button.addEventListener('click', () => {
        const chosen = button.dataset.action as Action;
        if (this._query) {
          act(chosen, this._query.name);
        }
      });
      this._buttons.push(button);
    }
  }

  readonly node: HTMLElement;

  update(query: IQuery): void {
    this._query = query;
    this.node.dataset.name = query.name;
    this.node.dataset.state = query.state;
    this._name.textContent = query.name;
    this._badge.textContent = query.label;
    this._badge.dataset.state = query.state;
    const trans = this._trans;
    // a query in the kernel is the usual case; one on Spark says so
    this.node.dataset.engine = query.engine;
    this._engine.textContent =
      query.engine === 'spark' ? trans.__('on Spark') : '';
    this._engine.hidden = query.engine !== 'spark';
    // a continuous query has epochs, not batches, and shows how long a row takes to reach the sink
    const continuous = query.continuous === true;
    this.node.dataset.continuous = continuous ? 'true' : 'false';
    if (query.batchId === null) {
      this._batch.textContent = continuous
        ? trans.__('no epoch yet')
        : trans.__('no batch yet');
    } else {
      this._batch.textContent = continuous
        ? trans.__('epoch %1', query.batchId)
        : trans.__('batch %1', query.batchId);
    }
    this._batch.dataset.batchId =
      query.batchId === null ? '' : String(query.batchId);
    if (continuous) {
      this._rate.textContent = trans.__(
        '%1 rows/s in · %2',
        formatRate(query.inputRowsPerSecond),
        formatLatency(query.latencyMs)
      );
      this._rate.title = trans.__(
        'input rows a second; arrival-to-sink latency of the last epoch, p50 / p99 (the line: recent epochs)'
      );
    } else {
      this._rate.textContent = trans.__(
        '%1 rows/s in · %2 processed',
        formatRate(query.inputRowsPerSecond),
        formatRate(query.processedRowsPerSecond)
      );
      this._rate.title = trans.__(
        'input rows a second; rows a second the last batch processed (the line: recent batches)'
      );
    }
    this._spark.replaceChildren(sparkline(query.rates));
    this._watermark.textContent = trans.__(
      'watermark %1',
      formatTime(query.watermark)
    );
    this._state.textContent =
      query.stateRows === null
        ? trans.__('stateless')
        : trans.__('state %1 rows', formatCount(query.stateRows));
    this._message.textContent = query.message;
    this._errorText.textContent = query.error ?? '';
    this._errorText.hidden = !query.error;
    // the kernel says which buttons to show and which may be clicked
    query.buttons.forEach((shown, index) => {
      const button = this._buttons[index];
      button.dataset.action = shown.action;
      button.textContent = shown.action;
      button.disabled = !shown.enabled;
    });
  }

  private _query: IQuery | null = null;
  private _name: HTMLElement;
  private _badge: HTMLElement;
  private _engine: HTMLElement;
  private _batch: HTMLElement;
  private _rate: HTMLElement;
  private _spark: HTMLElement;
  private _watermark: HTMLElement;
  private _state: HTMLElement;
  private _message: HTMLElement;
  private _errorText: HTMLElement;
  private _buttons: HTMLButtonElement[] = [];
}

function append<K extends keyof HTMLElementTagNameMap>(
  parent: HTMLElement,
  tag: K,
  className: string
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  element.className = className;
  parent.appendChild(element);
  return element;
}
