/**
 * The notebook toolbar item: one compact, fixed-width item (logo + state
 * chip, which opens the Spark popover, and the Start/Stop action), and the
 * popover with the configuration dropdown, the state's details, the Spark
 * UI link and the gear.  A view of SparkModel only.
 */
import * as React from 'react';

import { TranslationBundle } from '@jupyterlab/translation';
import {
  Button,
  HTMLSelect,
  ReactWidget,
  ToolbarButtonComponent,
  UseSignal,
  caretDownEmptyIcon,
  launchIcon,
  runIcon,
  settingsIcon,
  stopIcon
} from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { sparkIcon } from './icons';
import { SparkModel } from './model';
import { chipTooltip, ToolbarState } from './state';
import { IItemView, itemView, popoverPosition } from './view';

/** Counter for the popovers' DOM ids. */
let popoverCount = 0;

/** What the item's buttons do (the plugin wires them to dialogs). */
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

function viewOf(model: SparkModel, trans: TranslationBundle): IItemView {
  return itemView(
    model.state,
    {
      now: Date.now(),
      hasKernel: model.kernelId !== null,
      hasConfig: model.selected !== ''
    },
    (msg, ...args) => trans.__(msg, ...args)
  );
}

/** The chip's content: the spinner or the state dot, and the label. */
function Chip(props: { view: IItemView }): JSX.Element {
  const { view } = props;
  return (
    <span
      className={
        `jp-StartSpark-chip jp-StartSpark-chip-${view.kind}` +
        (view.warn ? ' jp-StartSpark-chip-warn' : '') +
        (view.notice ? ' jp-StartSpark-chip-notice' : '')
      }
      title={view.title}
    >
      {view.busy ? (
        <span className="jp-StartSpark-spinner" aria-hidden="true" />
      ) : (
        <span className="jp-StartSpark-dot" aria-hidden="true" />
      )}
      <span className="jp-StartSpark-chipText">{view.label}</span>
    </span>
  );
}

function Item(props: {
  model: SparkModel;
  trans: TranslationBundle;
  popoverId: string;
  expanded: boolean;
  onToggle: (button: HTMLElement) => void;
}): JSX.Element {
  const { model, trans } = props;
  const view = viewOf(model, trans);
  const a = view.action;
  return (
    <div className="jp-StartSpark" role="group" aria-label={trans.__('Spark')}>
      <button
        type="button"
        className="jp-StartSpark-menuButton"
        aria-haspopup="dialog"
        aria-expanded={props.expanded}
        aria-controls={props.popoverId}
        aria-label={view.menuLabel}
        title={view.title}
        onClick={e => props.onToggle(e.currentTarget)}
      >
        <sparkIcon.react
          tag="span"
          className="jp-StartSpark-logo"
          aria-hidden="true"
        />
        <Chip view={view} />
        <caretDownEmptyIcon.react
          tag="span"
          className="jp-StartSpark-caret"
          aria-hidden="true"
        />
      </button>
      <ToolbarButtonComponent
        className={`jp-StartSpark-action jp-StartSpark-${a.kind}`}
        icon={a.kind === 'stop' ? stopIcon : runIcon}
        label={a.label}
        tooltip={a.tooltip}
        enabled={a.enabled}
        onClick={() => void (a.kind === 'stop' ? model.stop() : model.start())}
      />
      <span className="jp-StartSpark-sr" aria-live="polite">
        {announce(model.state, trans)}
      </span>
    </div>
  );
}

/** The lines under the popover's heading: what the state is about. */
function stateDetails(
  state: ToolbarState,
  t: (msg: string, ...args: unknown[]) => string
): string[] {
  switch (state.kind) {
    case 'ready':
      return chipTooltip(state, t).split('\n');
    case 'failed':
      return [];
    default:
      return [chipTooltip(state, t)];
  }
}

function PopoverBody(props: {
  model: SparkModel;
  trans: TranslationBundle;
  actions: IToolbarActions;
  id: string;
  close: (refocus: boolean) => void;
}): JSX.Element {
  const { model, trans, actions, close } = props;
  const state = model.state;
  const t = (msg: string, ...args: unknown[]) => trans.__(msg, ...args);
  const view = viewOf(model, trans);
  const locked =
    state.kind === 'starting' ||
    state.kind === 'ready' ||
    state.kind === 'stopping' ||
    state.kind === 'loading';
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
  const selectId = `${props.id}-select`;
  return (
    <>
      <div className="jp-StartSpark-popHead">
        <sparkIcon.react
          tag="span"
          className="jp-StartSpark-popLogo"
          aria-hidden="true"
        />
        <div className="jp-StartSpark-popHeadText">
          <div
            className={`jp-StartSpark-popState jp-StartSpark-popState-${view.kind}${view.warn ? ' jp-StartSpark-popState-warn' : ''}`}
          >
            {state.kind === 'failed' ? view.label : view.text}
          </div>
          {stateDetails(state, t).map((line, i) => (
            <div key={i} className="jp-StartSpark-popDetail">
              {line}
            </div>
          ))}
        </div>
      </div>
      {view.notice && (
        <div className="jp-StartSpark-popNotice">
          <Button
            className="jp-StartSpark-startAgain"
            small
            disabled={!model.canStart}
            onClick={() => {
              close(true);
              void model.start();
            }}
          >
            <runIcon.react tag="span" aria-hidden="true" />
            {trans.__('Start again')}
          </Button>
        </div>
      )}
      {state.kind === 'failed' && (
        <div className="jp-StartSpark-popFailure">
          <p className="jp-StartSpark-popMessage">{state.message}</p>
          {state.hint && (
            <p className="jp-StartSpark-popHint">
              {trans.__('Hint: %1', state.hint)}
            </p>
          )}
          <Button
            className="jp-StartSpark-detailsButton"
            small
            onClick={() => {
              close(true);
              actions.details(model);
            }}
          >
            {trans.__('Details and log…')}
          </Button>
        </div>
      )}
      <label className="jp-StartSpark-popLabel" htmlFor={selectId}>
        {trans.__('Configuration')}
      </label>
      <HTMLSelect
        id={selectId}
        className="jp-StartSpark-select"
        aria-label={trans.__('Spark configuration')}
        title={
          locked
            ? trans.__('Stop Spark to pick another configuration')
            : info?.description ||
              model.configsError ||
              trans.__('Spark configuration')
        }
        value={model.selected}
        disabled={locked || model.configs.length === 0}
        onChange={e => model.select(e.target.value)}
        options={options}
      />
      {info?.description && (
        <div className="jp-StartSpark-popDetail">{info.description}</div>
      )}
      <div className="jp-StartSpark-popActions">
        {model.uiUrl && (
          <Button
            className="jp-StartSpark-ui"
            small
            title={trans.__('Open the Spark UI in a new browser tab')}
            onClick={() => {
              close(true);
              actions.openUI(model);
            }}
          >
            <launchIcon.react tag="span" aria-hidden="true" />
            {trans.__('Spark UI')}
          </Button>
        )}
        <Button
          className="jp-StartSpark-gear"
          small
          title={trans.__(
            'The configuration’s details and the values you may change'
          )}
          disabled={model.selected === '' || state.kind === 'stopping'}
          onClick={() => {
            close(true);
            actions.configure(model);
          }}
        >
          <settingsIcon.react tag="span" aria-hidden="true" />
          {trans.__('Configure…')}
        </Button>
      </div>
    </>
  );
}

/** Puts the focus on the popover's first control once it is shown. */
function FocusFirst(props: { node: HTMLElement; onShown: () => void }): null {
  React.useEffect(() => {
    props.onShown();
    const first = props.node.querySelector<HTMLElement>(
      'select:not([disabled]), button:not([disabled])'
    );
    (first ?? props.node).focus();
  }, []);
  return null;
}

/** The popover: in document.body (no toolbar clips it), under the item. */
class SparkPopover extends ReactWidget {
  constructor(
    private readonly _model: SparkModel,
    private readonly _trans: TranslationBundle,
    private readonly _actions: IToolbarActions,
    private readonly _close: (refocus: boolean) => void,
    id: string,
    private readonly _onShown: () => void
  ) {
    super();
    this.id = id;
    this.addClass('jp-StartSpark-popover');
    this.node.tabIndex = -1;
    this.node.setAttribute('role', 'dialog');
    this.node.setAttribute('aria-label', _trans.__('Spark'));
  }

  render(): JSX.Element {
    return (
      <UseSignal signal={this._model.changed}>
        {() => (
          <>
            <FocusFirst node={this.node} onShown={this._onShown} />
            <PopoverBody
              model={this._model}
              trans={this._trans}
              actions={this._actions}
              id={this.id}
              close={this._close}
            />
          </>
        )}
      </UseSignal>
    );
  }
}

export class SparkToolbar extends ReactWidget {
  constructor(
    readonly model: SparkModel,
    private readonly _trans: TranslationBundle,
    private readonly _actions: IToolbarActions
  ) {
    super();
    this.addClass('jp-StartSpark-item');
    this._popoverId = `jp-StartSpark-popover-${++popoverCount}`;
    model.changed.connect(this._place, this);
  }

  /** The open popover, or null. */
  get popover(): Widget | null {
    return this._popover;
  }

  render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => (
          <Item
            model={this.model}
            trans={this._trans}
            popoverId={this._popoverId}
            expanded={this._popover !== null}
            onToggle={b => this.toggle(b)}
          />
        )}
      </UseSignal>
    );
  }

  /** Opens the popover under anchor, or closes it when open. */
  toggle(anchor: HTMLElement): void {
    if (this._popover) {
      this.closePopover(true);
      return;
    }
    this._anchor = anchor;
    const p = new SparkPopover(
      this.model,
      this._trans,
      this._actions,
      r => this.closePopover(r),
      this._popoverId,
      () => this._place()
    );
    this._popover = p;
    Widget.attach(p, document.body);
    p.node.addEventListener('focusout', this);
    // Escape before JupyterLab's shortcuts (on the document) see it
    window.addEventListener('keydown', this, true);
    document.addEventListener('mousedown', this, true);
    window.addEventListener('resize', this);
    this.update();
    this._place();
  }

  /** Closes the popover; refocus: give the focus back to the item. */
  closePopover(refocus: boolean): void {
    const p = this._popover;
    if (!p) {
      return;
    }
    this._popover = null;
    // what the popover showed (a failed job, lost executors) is now seen:
    // the chip is no longer amber for it
    this.model.markSeen();
    p.node.removeEventListener('focusout', this);
    window.removeEventListener('keydown', this, true);
    document.removeEventListener('mousedown', this, true);
    window.removeEventListener('resize', this);
    p.dispose();
    this.update();
    if (refocus) {
      this._anchor?.focus();
    }
  }

  handleEvent(event: Event): void {
    const p = this._popover;
    if (!p) {
      return;
    }
    const inside = (t: EventTarget | null) =>
      t instanceof Node && (p.node.contains(t) || this.node.contains(t));
    switch (event.type) {
      case 'keydown':
        if ((event as KeyboardEvent).key === 'Escape') {
          // ours when the focus is in the popover or on the item; else
          // close and let the key do what it does there
          const mine = inside(document.activeElement);
          if (mine) {
            event.preventDefault();
            event.stopPropagation();
          }
          this.closePopover(mine);
        }
        break;
      case 'focusout':
        // Where the focus ends matters, not where it passes: a click on the
        // item moves it through the notebook (JupyterLab) to the item.
        setTimeout(() => {
          const now = document.activeElement;
          if (
            this._popover === p &&
            now !== null &&
            now !== document.body &&
            !inside(now)
          ) {
            this.closePopover(false);
          }
        }, 0);
        break;
      case 'mousedown':
        if (!inside(event.target)) {
          this.closePopover(false);
        }
        break;
      case 'resize':
        this.closePopover(false);
        break;
    }
  }

  protected onAfterHide(): void {
    this.closePopover(false);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.closePopover(false);
    this.model.changed.disconnect(this._place, this);
    super.dispose();
  }

  private _place(): void {
    const p = this._popover;
    const a = this._anchor;
    if (!p || !a) {
      return;
    }
    if (!a.isConnected) {
      this.closePopover(false);
      return;
    }
    const r = a.getBoundingClientRect();
    const pos = popoverPosition(
      r,
      { width: p.node.offsetWidth, height: p.node.offsetHeight },
      { width: window.innerWidth, height: window.innerHeight }
    );
    p.node.style.left = `${pos.left}px`;
    p.node.style.top = `${pos.top}px`;
  }

  private _popover: SparkPopover | null = null;
  private readonly _popoverId: string;
  private _anchor: HTMLElement | null = null;
}
