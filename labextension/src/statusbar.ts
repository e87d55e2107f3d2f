/** The status bar item: how many queries run in the current notebook's kernel, and their rows a second. */

import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { formatRate } from './format';
import { StreamsModel } from './model';

export class StreamsStatus extends Widget {
  constructor(
    readonly model: StreamsModel,
    private readonly _trans: TranslationBundle
  ) {
    super();
    this.addClass('sn-StreamsStatus');
    this.node.title = _trans.__(
      'stream_nb: queries running in this notebook\u2019s kernel'
    );
    model.changed.connect(this._render, this);
    this._render();
  }

  /** Shown while the current notebook's kernel runs stream_nb. */
  get active(): boolean {
    return this.model.current?.connected ?? false;
  }

  dispose(): void {
    this.model.changed.disconnect(this._render, this);
    super.dispose();
  }

  private _render(): void {
    const queries = this.model.current?.queries ?? [];
    const running = queries.filter(q => q.running); // the kernel says which run
    const rate = running.reduce(
      (sum, q) => sum + (q.inputRowsPerSecond ?? 0),
      0
    );
    const count = running.length;
    this.node.textContent = count
      ? this._trans._n(
          '\u25B6 %1 stream \u00B7 %2 rows/s',
          '\u25B6 %1 streams \u00B7 %2 rows/s',
          count,
          formatRate(rate)
        )
      : this._trans.__('\u25B6 0 streams');
    this.node.dataset.running = String(count);
  }
}
