/**
 * The notebook toolbar item: logo, configuration dropdown, Start/Stop,
 * state chip, Spark UI link and the gear.  A view of SparkModel only.
 */
import * as React from 'react';

import { TranslationBundle } from '@jupyterlab/translation';
import {
  HTMLSelect,
  ReactWidget,
  ToolbarButtonComponent,
  UseSignal,
  launchIcon,
  runIcon,
  settingsIcon,
  stopIcon
} from '@jupyterlab/ui-components';

import { sparkIcon } from './icons';
import { SparkModel } from './model';
import { chipText, chipTooltip, ToolbarState } from './state';

/** What the toolbar's buttons do (the plugin wires them to dialogs). */
export interface IToolbarActions {
  configure(model: SparkModel): void;
  details(model: SparkModel): void;
  openUI(model: SparkModel): void;
}

/** Short text for screen readers: no ticking seconds. */
function announce(state: ToolbarState, trans: TranslationBundle): string {
  switch (state.kind) {
    case 'starting':
      return trans.__('Spark is starting');
    case 'ready':
      return trans.__('Spark is ready');
    case 'failed':
      return trans.__('Spark failed: %1', state.message);
    case 'stopping':
      return trans.__('Spark is stopping');
    case 'not_started':
      return trans.__('Spark is not started');
    case 'unavailable':
      return trans.__('The Start Spark service is unavailable');
    default:
      return '';
  }
}

function SparkBar(props: {
  model: SparkModel;
  trans: TranslationBundle;
  actions: IToolbarActions;
}): JSX.Element {
  const { model, trans, actions } = props;
  const state = model.state;
  const t = (msg: string, ...args: unknown[]) => trans.__(msg, ...args);
  const busy =
    state.kind === 'starting' ||
    state.kind === 'stopping' ||
    state.kind === 'loading';
  const running = state.kind === 'starting' || state.kind === 'ready';
  const options = model.configs.map(c => ({
    value: c.name,
    label: c.error
      ? trans.__('%1 (has errors)', c.display_name || c.name)
      : c.display_name || c.name,
    disabled: !!c.error
  }));
  if (options.length === 0) {
    options.push({
      value: '',
      label: model.configsError
        ? trans.__('Configurations unavailable')
        : trans.__('Loading…'),
      disabled: true
    });
  }
  const info = model.selectedInfo;
  const chipClass =
    'jp-StartSpark-chip jp-StartSpark-chip-' + state.kind.replace('_', '-');
  const chip = (
    <>
      {busy && <span className="jp-StartSpark-spinner" aria-hidden="true" />}
      <span className="jp-StartSpark-chipText">
        {chipText(state, Date.now(), t)}
      </span>
    </>
  );
  return (
    <div className="jp-StartSpark" role="group" aria-label={trans.__('Spark')}>
      <sparkIcon.react
        tag="span"
        className="jp-StartSpark-logo"
        title={trans.__('Start Spark')}
        aria-hidden="true"
      />
      <HTMLSelect
        className="jp-StartSpark-select"
        aria-label={trans.__('Spark configuration')}
        title={
          info?.description ||
          model.configsError ||
          trans.__('Spark configuration')
        }
        value={model.selected}
        disabled={running || busy || model.configs.length === 0}
        onChange={e => model.select(e.target.value)}
        options={options}
      />
      {running ? (
        <ToolbarButtonComponent
          className="jp-StartSpark-stop"
          icon={stopIcon}
          label={trans.__('Stop')}
          tooltip={trans.__('Stop Spark (the kernel keeps running)')}
          enabled={model.canStop}
          onClick={() => void model.stop()}
        />
      ) : (
        <ToolbarButtonComponent
          className="jp-StartSpark-start"
          icon={runIcon}
          label={trans.__('Start')}
          tooltip={
            model.kernelId === null
              ? trans.__('Start a kernel first')
              : trans.__('Start Spark in this kernel')
          }
          enabled={model.canStart}
          onClick={() => void model.start()}
        />
      )}
      {state.kind === 'failed' ? (
        <button
          type="button"
          className={chipClass}
          title={chipTooltip(state, t)}
          aria-label={trans.__('Spark failed: %1. Show details', state.message)}
          onClick={() => actions.details(model)}
        >
          {chip}
        </button>
      ) : (
        <span className={chipClass} title={chipTooltip(state, t)}>
          {chip}
        </span>
      )}
      <span className="jp-StartSpark-sr" aria-live="polite">
        {announce(state, trans)}
      </span>
      {model.uiUrl && (
        <ToolbarButtonComponent
          className="jp-StartSpark-ui"
          icon={launchIcon}
          label={trans.__('Spark UI')}
          tooltip={trans.__('Open the Spark UI in a new browser tab')}
          onClick={() => actions.openUI(model)}
        />
      )}
      <ToolbarButtonComponent
        className="jp-StartSpark-gear"
        icon={settingsIcon}
        tooltip={trans.__('Configure Spark…')}
        enabled={model.selected !== '' && state.kind !== 'stopping'}
        onClick={() => actions.configure(model)}
      />
    </div>
  );
}

export class SparkToolbar extends ReactWidget {
  constructor(
    readonly model: SparkModel,
    private readonly _trans: TranslationBundle,
    private readonly _actions: IToolbarActions
  ) {
    super();
    this.addClass('jp-StartSpark-item');
  }

  render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => (
          <SparkBar
            model={this.model}
            trans={this._trans}
            actions={this._actions}
          />
        )}
      </UseSignal>
    );
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.dispose();
    super.dispose();
  }
}
