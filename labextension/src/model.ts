/** The links of every open notebook, and which one the panel and the status bar show: the current one. */

import { ISessionContext } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISignal, Signal } from '@lumino/signaling';

import { KernelLink } from './link';

export class StreamsModel {
  /** `subscribe: false`: the links only take the kernels' comms, quietly (see `KernelLink`). */
  constructor(
    tracker: INotebookTracker,
    readonly subscribe = true
  ) {
    tracker.widgetAdded.connect((_, panel) => this._linkOf(panel), this);
    tracker.currentChanged.connect((_, panel) => this._show(panel), this);
    tracker.forEach(panel => this._linkOf(panel));
    this._show(tracker.currentWidget);
  }

  /** The current notebook's link; null when no notebook is current. */
  get current(): KernelLink | null {
    return this._current;
  }

  /** The current notebook's title. */
  get title(): string {
    return this._title;
  }

  /** Emitted when the current link changes, or what it shows does. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  private _linkOf(panel: NotebookPanel): KernelLink {
    // views of one notebook share its session: one link each
    const session = panel.sessionContext;
    let link = this._links.get(session);
    if (!link) {
      const made = new KernelLink(session, this.subscribe);
      this._links.set(session, made);
      session.disposed.connect(() => {
        this._links.delete(session);
        made.dispose();
        if (this._current === made) {
          this._show(null);
        }
      });
      link = made;
    }
    return link;
  }

  private _show(panel: NotebookPanel | null): void {
    // keep showing the last notebook while another kind of document has the focus
    if (panel === null && this._current && !this._current.isDisposed) {
      return;
    }
    const link = panel ? this._linkOf(panel) : null;
    if (this._current) {
      this._current.changed.disconnect(this._emit, this);
    }
    this._current = link;
    this._title = panel ? panel.title.label : '';
    link?.changed.connect(this._emit, this);
    this._emit();
  }

  private _emit(): void {
    this._changed.emit();
  }

  private _links = new Map<ISessionContext, KernelLink>();
  private _current: KernelLink | null = null;
  private _title = '';
  private _changed = new Signal<this, void>(this);
}
