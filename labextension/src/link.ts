/**
 * The link to one notebook's kernel. The kernel opens the `stream_nb.panel` comm itself at `import stream_nb`
 * and sends the queries on it from its engine thread, so they arrive while a cell keeps the kernel busy; the
 * link takes them from IOPub. Clicks go on a comm of the link's own, which JupyterLab opens on a kernel
 * subshell when the kernel has them (ipykernel 7), so they are done while a cell runs; without subshells they
 * wait for the cell to end, and `waitsForCell` says so. No timers: the kernel pushes.
 */

import { ISessionContext } from '@jupyterlab/apputils';
import { IChangedArgs } from '@jupyterlab/coreutils';
import { Kernel, KernelMessage } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import {
  Action,
  IActionReply,
  IQuery,
  TARGET,
  isActionReply,
  isUpdate
} from './protocol';
import { isNotice, showNotice } from './notify';

/** Kernel statuses after which the kernel's comms are gone (a restart, a new kernel, a dead one). */
const GONE: ReadonlySet<Kernel.Status> = new Set<Kernel.Status>([
  'restarting',
  'autorestarting',
  'dead',
  'starting',
  'unknown'
]);

/** How long to wait for a subshell before opening the comm on the main shell anyway. */
const SUBSHELL_WAIT_MS = 5000;

/** What JupyterLab 4.4+'s comms add for subshells (`CommHandler`; not in `Kernel.IComm`). */
interface ISubshellComm {
  readonly subshellId?: string | null;
  readonly subshellStarted?: Promise<void>;
}

/** The subshell a comm's messages go to; null for the main shell. */
function subshellOf(comm: Kernel.IComm): string | null {
  return (comm as Kernel.IComm & ISubshellComm).subshellId ?? null;
}

/** An action sent, not answered yet. */
export interface IPending {
  action: Action;
  name: string;
}

export class KernelLink {
  /**
   * `subscribe: false` only takes the kernel's comm, quietly, so that a front end without the panel
   * (Notebook 7) does not refuse it as an unknown comm target.
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

  /** Whether stream_nb runs in the kernel (its comm or its updates have been seen). */
  get connected(): boolean {
    return this._present;
  }

  /** The kernel's answer to the last action: what was done, or why not. */
  get lastReply(): IActionReply | null {
    return this._reply;
  }

  /** The action sent and not answered yet. */
  get pending(): IPending | null {
    return this._pending;
  }

  /**
   * Whether a click waits for the running cell to end: the kernel is busy and the link's comm is not on a
   * subshell (the kernel has none, or the comm is still being opened).
   */
  get waitsForCell(): boolean {
    const kernel = this._kernel;
    return (
      kernel !== null &&
      kernel.status === 'busy' &&
      (this._comm === null || subshellOf(this._comm) === null)
    );
  }

  /** Emitted when the queries, the connection, a reply or a pending action change. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Ask the kernel to pause, resume, step or stop a query; the answer comes as `lastReply`. */
  act(action: Action, name: string): void {
    this._reply = null;
    if (!this._comm || this._comm.isDisposed || !this._opened) {
      // a page loaded while a cell runs hears the queries at once (IOPub), but its comm for clicks opens only
      // once the kernel answers (kernel_info, on the busy main shell), that is when the cell has ended
      this._reply = {
        name,
        action,
        error:
          'the kernel has not answered this page yet (a cell is running?): ' +
          'the panel can act once it does; try again then'
      };
      this._changed.emit();
      return;
    }
    this._pending = { action, name };
    this._comm.send({ action, name });
    this._changed.emit();
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
      this._forget(); // the comms died with the kernel; the next `import stream_nb` opens a new one
    } else if (this._pending) {
      this._changed.emit(); // busy or idle changes what the panel says of a pending click
    }
  }

  private _attach(kernel: Kernel.IKernelConnection | null): void {
    this._detach();
    this._kernel = kernel;
    if (!kernel) {
      return;
    }
    kernel.iopubMessage.connect(this._onIOPub, this);
    // registered before any cell runs, so the kernel's comm is never refused; a restart keeps it registered
    kernel.registerCommTarget(TARGET, this._onKernelComm);
    if (!this.subscribe) {
      return;
    }
    // a kernel that runs stream_nb already (a reloaded page): its comm is listed
    void kernel
      .requestCommInfo({ target_name: TARGET })
      .then(reply => {
        const content = reply.content;
        if (
          content.status === 'ok' &&
          Object.keys(content.comms).length > 0 &&
          kernel === this._kernel
        ) {
          this._found(kernel);
        }
      })
      .catch(() => undefined); // a kernel that goes away meanwhile: its next import opens the comm again
  }

  private _detach(): void {
    if (this._kernel && !this._kernel.isDisposed) {
      this._kernel.iopubMessage.disconnect(this._onIOPub, this);
      this._kernel.removeCommTarget(TARGET, this._onKernelComm);
    }
    this._kernel = null;
    this._forget();
  }

  /** The kernel opened its comm (`import stream_nb`): the queries it had, then its updates on IOPub. */
  private _onKernelComm = (
    comm: Kernel.IComm,
    msg: KernelMessage.ICommOpenMsg
  ): void => {
    if (!this.subscribe || !this._kernel) {
      return; // kept open and unread: Notebook 7 shows no panel
    }
    const data = msg.content.data;
    if (isUpdate(data)) {
      this._queries = data.queries;
    }
    this._found(this._kernel);
  };

  private _onIOPub(
    _: Kernel.IKernelConnection,
    msg: KernelMessage.IIOPubMessage
  ): void {
    if (
      msg.header.msg_type !== 'comm_msg' ||
      !this.subscribe ||
      !this._kernel
    ) {
      return;
    }
    // updates come on the kernel's comm, which a reloaded page does not know: read them by their shape
    const data = (msg as KernelMessage.ICommMsgMsg).content.data;
    if (isUpdate(data)) {
      this._queries = data.queries;
      this._found(this._kernel);
    } else if (isNotice(data)) {
      showNotice(data.notify); // a notify sink's row (sent only once a link has subscribed)
    }
  }

  /** stream_nb runs in the kernel: show it, and open the comm for clicks if there is none yet. */
  private _found(kernel: Kernel.IKernelConnection): void {
    this._present = true;
    this._changed.emit();
    if (!this._comm || this._comm.isDisposed) {
      void this._subscribe(kernel);
    }
  }

  private async _subscribe(kernel: Kernel.IKernelConnection): Promise<void> {
    if (kernel.isDisposed || !kernel.handleComms) {
      return;
    }
    const comm = kernel.createComm(TARGET);
    this._comm = comm;
    this._opened = false;
    comm.onMsg = msg => {
      const data = msg.content.data;
      if (isActionReply(data)) {
        this._reply = data;
        this._pending = null;
        this._changed.emit();
      }
    };
    comm.onClose = () => {
      if (this._comm === comm) {
        this._comm = null;
        this._opened = false;
      }
    };
    try {
      // on a subshell, when the kernel has them, so that clicks are done while a cell runs
      await kernel.info;
      const started = (comm as Kernel.IComm & ISubshellComm).subshellStarted;
      if (
        kernel.supportsSubshells &&
        started &&
        comm.commsOverSubshells !== 'disabled'
      ) {
        await Promise.race([
          started.catch(() => undefined),
          new Promise(resolve => setTimeout(resolve, SUBSHELL_WAIT_MS))
        ]);
      }
      if (this._comm !== comm || comm.isDisposed || kernel !== this._kernel) {
        return;
      }
      comm.open({ action: 'subscribe' });
      this._opened = true;
      this._changed.emit();
    } catch {
      // the kernel went away meanwhile: its next start and `import stream_nb` open everything again
      if (this._comm === comm) {
        this._comm = null;
      }
    }
  }

  private _forget(): void {
    const had = this._present || this._comm !== null;
    if (this._comm && !this._comm.isDisposed) {
      this._comm.dispose();
    }
    this._comm = null;
    this._opened = false;
    this._present = false;
    this._queries = [];
    this._reply = null;
    this._pending = null;
    if (had) {
      this._changed.emit();
    }
  }

  private _kernel: Kernel.IKernelConnection | null = null;
  private _comm: Kernel.IComm | null = null;
  private _opened = false;
  private _present = false;
  private _queries: IQuery[] = [];
  private _reply: IActionReply | null = null;
  private _pending: IPending | null = null;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
}
