/**
 * stream_nb in JupyterLab (and, for the parts that are not the panel, Notebook 7).
 *
 * - `stream-nb:bokehjs`: BokehJS from the Jupyter server, for offline charts (JupyterLab and Notebook 7)
 * - `stream-nb:sql`: SQL highlighting for `%%stream` cells (JupyterLab and Notebook 7)
 * - `stream-nb:streams`: the Streams side panel and the status bar item (JupyterLab only)
 */

import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  EditorExtensionRegistry,
  IEditorExtensionRegistry,
  IEditorLanguageRegistry
} from '@jupyterlab/codemirror';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { loadBokehJS } from './bokehjs';
import { isStreamCell, streamSql } from './highlight';
import { streamsIcon } from './icon';
import { StreamsModel } from './model';
import { StreamsPanel } from './panel';
import { StreamsStatus } from './statusbar';

const bokehjs: JupyterFrontEndPlugin<void> = {
  id: 'stream-nb:bokehjs',
  description:
    'Loads BokehJS from the Jupyter server (stream_nb.server), so the live charts render with no internet.',
  autoStart: true,
  activate: (): void => {
    void loadBokehJS();
  }
};

const sql: JupyterFrontEndPlugin<void> = {
  id: 'stream-nb:sql',
  description: 'Highlights the body of a %%stream cell as SQL.',
  autoStart: true,
  requires: [IEditorExtensionRegistry, IEditorLanguageRegistry],
  activate: async (
    _: JupyterFrontEnd,
    extensions: IEditorExtensionRegistry,
    languages: IEditorLanguageRegistry
  ): Promise<void> => {
    const found = languages.findByMIME('text/x-sql');
    const language = found ? await languages.getLanguage(found) : null;
    if (!language?.support) {
      console.warn(
        'stream_nb: JupyterLab has no SQL language to highlight %%stream cells'
      );
      return;
    }
    const sql = language.support.language;
    extensions.addExtension({
      name: 'stream-nb:sql',
      factory: ({ model }) =>
        EditorExtensionRegistry.createImmutableExtension(
          streamSql(sql, isStreamCell(model.sharedModel.getSource()))
        )
    });
  }
};

const streams: JupyterFrontEndPlugin<void> = {
  id: 'stream-nb:streams',
  description:
    'The Streams side panel and status bar item: the queries of the current notebook\u2019s kernel.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILabShell, IStatusBar, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    labShell: ILabShell | null,
    statusBar: IStatusBar | null,
    translator: ITranslator | null
  ): void => {
    if (!labShell) {
      // Notebook 7: the per-cell views are there; the panel is JupyterLab's. Take the kernels' comms quietly.
      new StreamsModel(tracker, false);
      return;
    }
    const trans = (translator ?? nullTranslator).load('stream_nb');
    const model = new StreamsModel(tracker);
    const panel = new StreamsPanel(model, trans);
    panel.id = 'stream-nb-streams';
    panel.title.icon = streamsIcon;
    panel.title.caption = trans.__('Streams');
    labShell.add(panel, 'left', { rank: 600 });
    if (statusBar) {
      const status = new StreamsStatus(model, trans);
      statusBar.registerStatusItem('stream-nb:status', {
        item: status,
        align: 'left',
        rank: 4,
        isActive: () => status.active,
        activeStateChanged: model.changed
      });
    }
  }
};

export default [bokehjs, sql, streams];
