/**
 * The link to one notebook's kernel: the `stream_nb.panel` comm, opened when the kernel has stream_nb, and the
 * queries it last reported. No timers: the kernel pushes; the link follows the kernel's own events.
 */

import { ISessionContext } from '@jupyterlab/apputils';
import { IChangedArgs } from '@jupyterlab/coreutils';
import { Kernel, KernelMessage } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import {
  Action,
  IActionError,
  IQuery,
  TARGET,
  isActionError,
  isUpdate
} from './protocol';

/** Kernel statuses after which the kernel's comms are gone (a restart, a new kernel, a dead one). */
const GONE: ReadonlySet<Kernel.Status> = new Set<Kernel.Status>([
  'restarting',
  'autorestarting',
  'dead',
  'starting',
  'unknown'
]);

export class KernelLink {
  /**
   * `subscribe: false` only hears the kernel's hello, so that a front end without the panel (Notebook 7)
   * takes it quietly instead of refusing an unknown comm target.
   */
  constructor(
    readonly sessionContext: ISessionContext,
    readonly subscribe = true
  ) {
    sessionContext.kernelChanged.connect(this._onKernelChanged, this);
    sessionContext.statusChanged.connect(this._onStatus, this);
    this._attach(sessionContext.session?.kernel ?? null);
  }

  /** The kernel's queries, as last reported (empty until stream_nb runs there). */
  get queries(): readonly IQuery[] {
    return this._queries;
  }

  /** Whether the kernel runs stream_nb and the comm is open. */
  get connected(): boolean {
    return this._comm !== null;
  }

  /** The last action that failed, with the kernel's message; cleared by the next action. */
  get lastError(): IActionError | null {
    return this._error;
  }

  /** Emitted when the queries, the connection or the last error change. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Ask the kernel to pause, resume, step or stop a query. */
  act(action: Action, name: string): void {
    this._error = null;
    if (!this._comm || this._comm.isDisposed) {
      return;
    }
    this._comm.send({ action, name });
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._detach();
    Signal.clearData(this);
  }

  private _onKernelChanged(
    _: ISessionContext,
    change: IChangedArgs<Kernel.IKernelConnection | null>
  ): void {
    this._attach(change.newValue);
  }

  private _onStatus(_: ISessionContext, status: Kernel.Status): void {
    if (GONE.has(status)) {
      // the comms died with the kernel's state; the target must be registered again afterwards
      this._registered = false;
      this._forget();
    } else if (!this._registered && this._kernel && status === 'idle') {
      this._register(this._kernel);
    }
  }

  private _attach(kernel: Kernel.IKernelConnection | null): void {
    this._detach();
    this._kernel = kernel;
    if (!kernel) {
      return;
    }
    kernel.iopubMessage.connect(this._onIOPub, this);
    this._register(kernel);
  }

  private _detach(): void {
    if (this._kernel && !this._kernel.isDisposed) {
      this._kernel.iopubMessage.disconnect(this._onIOPub, this);
      this._kernel.removeCommTarget(TARGET, this._onHello);
    }
    this._kernel = null;
    this._registered = false;
    this._forget();
  }

  /** Hear the kernel's hello (at `import stream_nb`), and subscribe now if stream_nb already runs there. */
  private _register(kernel: Kernel.IKernelConnection): void {
    this._registered = true;
    kernel.registerCommTarget(TARGET, this._onHello);
    if (!this.subscribe) {
      return;
    }
    void kernel
      .requestCommInfo({ target_name: TARGET })
      .then(reply => {
        const content = reply.content;
        if (
          content.status === 'ok' &&
          Object.keys(content.comms).length > 0 &&
          kernel === this._kernel
        ) {
          this._subscribe(kernel);
        }
      })
      .catch(() => undefined); // a kernel that goes away meanwhile: its next start registers again
  }

  private _onHello = (): void => {
    if (this._kernel && this.subscribe) {
      this._subscribe(this._kernel);
    }
  };

  private _subscribe(kernel: Kernel.IKernelConnection): void {
    if (this._comm && !this._comm.isDisposed) {
      return;
    }
    const comm = kernel.createComm(TARGET);
    comm.onMsg = msg => {
      // updates are read from IOPub (they may come on another front end's comm); errors are ours
      const data = msg.content.data;
      if (isActionError(data)) {
        this._error = data;
        this._changed.emit();
      }
    };
    comm.onClose = () => {
      if (this._comm === comm) {
        this._forget();
      }
    };
    this._comm = comm;
    comm.open({ action: 'subscribe' });
    this._changed.emit();
  }

  private _onIOPub(
    _: Kernel.IKernelConnection,
    msg: KernelMessage.IIOPubMessage
  ): void {
    if (msg.header.msg_type !== 'comm_msg' || !this._comm) {
      return;
    }
    const data = (msg as KernelMessage.ICommMsgMsg).content.data;
    if (isUpdate(data)) {
      this._queries = data.queries;
      this._changed.emit();
    }
  }

  private _forget(): void {
    const had = this._comm !== null || this._queries.length > 0;
    if (this._comm && !this._comm.isDisposed) {
      this._comm.dispose();
    }
    this._comm = null;
    this._queries = [];
    this._error = null;
    if (had) {
      this._changed.emit();
    }
  }

  private _kernel: Kernel.IKernelConnection | null = null;
  private _registered = false;
  private _comm: Kernel.IComm | null = null;
  private _queries: IQuery[] = [];
  private _error: IActionError | null = null;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
}
