/**
 * Start Spark: the notebook toolbar item, its commands and settings.
 * One plugin; works in JupyterLab 4 and Notebook 7 (both have notebook
 * panels with a toolbar, an INotebookTracker and the toolbar registry;
 * only JupyterLab has an ILabShell).
 *
 * The item is the toolbar factory `startSpark` of the `Notebook` widget
 * factory, placed by `jupyter.lab.toolbars` in schema/plugin.json, so users
 * move or hide it in the settings like any notebook toolbar item.
 */
import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  ISessionContext,
  IToolbarWidgetRegistry,
  MainAreaWidget
} from '@jupyterlab/apputils';
import type { ICodeCellModel } from '@jupyterlab/cells';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { IFrame } from '@jupyterlab/ui-components';
import { ISignal } from '@lumino/signaling';

import { SparkdClient } from './api';
import { CellJobsTracker } from './cells';
import { configureDialog, showFailure } from './dialogs';
import { sparkIcon } from './icons';
import { IChoiceStore, IKernelSource, SparkModel } from './model';
import { IToolbarActions, SparkToolbar } from './toolbar';
import { INotebookChoice } from './types';

const PLUGIN_ID = '@start-spark/labextension:plugin';
/** The item's name in the notebook toolbar (schema/plugin.json). */
export const TOOLBAR_ITEM = 'startSpark';
const METADATA_KEY = 'start_spark';

export namespace CommandIDs {
  export const start = 'start-spark:start';
  export const stop = 'start-spark:stop';
  export const openUI = 'start-spark:open-ui';
  export const openUITab = 'start-spark:open-ui-tab';
  export const configure = 'start-spark:configure';
  export const keepSummary = 'start-spark:keep-job-summary';
}

/** The panel's kernel, as the model needs it. */
function kernelSource(sc: ISessionContext): IKernelSource {
  return {
    get kernelId() {
      return sc.session?.kernel?.id ?? null;
    },
    kernelChanged: sc.kernelChanged as ISignal<unknown, unknown>,
    statusChanged: sc.statusChanged as ISignal<unknown, string>
  };
}

/** The notebook's `start_spark` metadata. */
function choiceStore(panel: NotebookPanel): IChoiceStore {
  return {
    get() {
      const v = panel.model?.getMetadata(METADATA_KEY) as
        Partial<INotebookChoice> | undefined;
      if (!v || typeof v !== 'object' || typeof v.config !== 'string') {
        return undefined;
      }
      const o = v.overrides;
      return {
        config: v.config,
        overrides: o && typeof o === 'object' && !Array.isArray(o) ? o : {}
      };
    },
    set(choice) {
      panel.model?.setMetadata(METADATA_KEY, {
        config: choice.config,
        overrides: { ...choice.overrides }
      });
    }
  };
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'A Start Spark item in the notebook toolbar.',
  autoStart: true,
  requires: [INotebookTracker, IToolbarWidgetRegistry],
  optional: [ISettingRegistry, ITranslator, ICommandPalette, ILabShell],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    toolbarRegistry: IToolbarWidgetRegistry,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null,
    palette: ICommandPalette | null,
    labShell: ILabShell | null
  ) => {
    const trans = (translator ?? nullTranslator).load('start_spark');
    const t = (msg: string, ...args: unknown[]) => trans.__(msg, ...args);
    const client = new SparkdClient();
    const config = { defaultConfig: '', showToolbar: true };
    const toolbars = new Set<SparkToolbar>();
    const models = new Map<NotebookPanel, SparkModel>();
    const trackers = new Map<NotebookPanel, CellJobsTracker>();
    const isLab = labShell !== null;

    const current = (): SparkModel | undefined => {
      const panel = tracker.currentWidget;
      return panel ? models.get(panel) : undefined;
    };

    const openUI = (model: SparkModel | undefined) => {
      const url = model?.uiUrl;
      if (url) {
        window.open(url, '_blank', 'noopener');
      }
    };

    const openUITab = (model: SparkModel | undefined) => {
      const url = model?.uiUrl;
      if (!url || !model) {
        return;
      }
      if (!isLab) {
        openUI(model);
        return;
      }
      const frame = new IFrame({
        sandbox: [
          'allow-scripts',
          'allow-same-origin',
          'allow-forms',
          'allow-popups'
        ]
      });
      frame.url = url;
      const widget = new MainAreaWidget({ content: frame });
      widget.id = `start-spark-ui-${model.kernelId ?? 'none'}-${Date.now()}`;
      widget.title.label = trans.__('Spark UI');
      widget.title.icon = sparkIcon;
      widget.title.closable = true;
      app.shell.add(widget, 'main');
    };

    const actions: IToolbarActions = {
      configure: model => void configureDialog(model, trans),
      details: model => {
        if (model.state.kind === 'failed') {
          void showFailure(model.state, trans);
        }
      },
      openUI
    };

    /**
     * The panel's model, made on first use: by the toolbar item (made with
     * the panel) or by the panel's widget extension (when the item is
     * hidden in the toolbar settings, the commands still work).  It lives
     * as long as the panel.
     */
    const modelOf = (panel: NotebookPanel): SparkModel => {
      let model = models.get(panel);
      if (model) {
        return model;
      }
      const m = new SparkModel({
        client,
        kernel: kernelSource(panel.sessionContext),
        store: choiceStore(panel),
        trans: t,
        defaultConfig: config.defaultConfig
      });
      model = m;
      models.set(panel, m);
      m.changed.connect(() => {
        if (tracker.currentWidget === panel) {
          app.commands.notifyCommandChanged();
        }
      });
      // the Spark jobs under the cells that started them
      trackers.set(panel, new CellJobsTracker(panel, m, t));
      panel.disposed.connect(() => {
        models.delete(panel);
        trackers.delete(panel);
        m.dispose();
      });
      void panel.context.ready.then(() => m.initialize());
      return m;
    };

    toolbarRegistry.addFactory<NotebookPanel>(
      'Notebook',
      TOOLBAR_ITEM,
      panel => {
        const widget = new SparkToolbar(modelOf(panel), trans, actions);
        widget.setHidden(!config.showToolbar);
        toolbars.add(widget);
        widget.disposed.connect(() => toolbars.delete(widget));
        return widget;
      }
    );
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (panel: NotebookPanel) => {
        modelOf(panel);
      }
    });
    tracker.currentChanged.connect(() => app.commands.notifyCommandChanged());

    app.commands.addCommand(CommandIDs.start, {
      label: trans.__('Start Spark'),
      caption: trans.__('Start Spark in the current notebook’s kernel'),
      icon: sparkIcon,
      isEnabled: () => !!current()?.canStart,
      execute: () => current()?.start()
    });
    app.commands.addCommand(CommandIDs.stop, {
      label: trans.__('Stop Spark'),
      caption: trans.__('Stop Spark; the kernel keeps running'),
      isEnabled: () => !!current()?.canStop,
      execute: () => current()?.stop()
    });
    app.commands.addCommand(CommandIDs.openUI, {
      label: trans.__('Open Spark UI'),
      caption: trans.__('Open the Spark UI in a new browser tab'),
      isEnabled: () => !!current()?.uiUrl,
      execute: () => openUI(current())
    });
    app.commands.addCommand(CommandIDs.openUITab, {
      label: trans.__('Open Spark UI in a JupyterLab Tab'),
      isEnabled: () => !!current()?.uiUrl,
      execute: () => openUITab(current())
    });
    app.commands.addCommand(CommandIDs.configure, {
      label: trans.__('Configure Spark…'),
      isEnabled: () => !!current()?.selected,
      execute: () => {
        const m = current();
        return m ? configureDialog(m, trans) : undefined;
      }
    });
    /** The active cell's job summary (text), with its cell. */
    const activeSummary = () => {
      const panel = tracker.currentWidget;
      const cell = panel?.content.activeCell;
      if (!panel || !cell || cell.model.type !== 'code') {
        return null;
      }
      const text = trackers.get(panel)?.summaryText(cell.model.id) ?? null;
      return text ? { cell, text } : null;
    };
    app.commands.addCommand(CommandIDs.keepSummary, {
      label: trans.__('Keep Spark Job Summary in the Notebook'),
      caption: trans.__(
        'Add the Spark jobs of the active cell to its outputs, saved with the notebook'
      ),
      isEnabled: () => activeSummary() !== null,
      isVisible: () => activeSummary() !== null,
      execute: () => {
        const s = activeSummary();
        if (s) {
          (s.cell.model as ICodeCellModel).outputs.add({
            output_type: 'stream',
            name: 'stdout',
            text: s.text
          });
        }
      }
    });
    app.contextMenu.addItem({
      command: CommandIDs.keepSummary,
      selector: '.jp-CodeCell',
      rank: 60
    });
    if (palette) {
      const category = trans.__('Spark');
      for (const command of [
        CommandIDs.start,
        CommandIDs.stop,
        CommandIDs.openUI,
        CommandIDs.openUITab,
        CommandIDs.configure,
        CommandIDs.keepSummary
      ]) {
        palette.addItem({ command, category });
      }
    }

    if (settingRegistry) {
      const apply = (s: ISettingRegistry.ISettings) => {
        config.defaultConfig =
          (s.get('defaultConfig').composite as string) ?? '';
        config.showToolbar =
          (s.get('showToolbar').composite as boolean) ?? true;
        for (const w of toolbars) {
          w.setHidden(!config.showToolbar);
          w.model.setDefaultConfig(config.defaultConfig);
        }
      };
      settingRegistry
        .load(PLUGIN_ID)
        .then(s => {
          apply(s);
          s.changed.connect(apply);
        })
        .catch(e => console.warn('start-spark: cannot load settings', e));
    }
  }
};

export default plugin;
