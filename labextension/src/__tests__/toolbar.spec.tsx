import { nullTranslator } from '@jupyterlab/translation';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { SparkdClient } from '../api';
import { IKernelSource, SparkModel } from '../model';
import { IToolbarActions, SparkToolbar } from '../toolbar';
import { IConfigList, INotebookChoice, ISession } from '../types';

const KID = '0b6b4d2e-58a3-4d3c-9a47-3c5f3c1f2a10';

const CONFIGS: IConfigList = {
  default: 'local',
  configs: [
    {
      name: 'local',
      display_name: 'Local',
      source: 'system',
      locked: false,
      default: true
    }
  ]
};

class FakeKernel implements IKernelSource {
  kernelId: string | null = KID;
  kernelChanged = new Signal<this, unknown>(this);
  statusChanged = new Signal<this, string>(this);
}

/** A client with the configurations; its long polls hang until aborted. */
function fakeClient(): SparkdClient {
  return {
    configs: async () => CONFIGS,
    uiUrl: (p: string) => '/sparkd/' + p,
    get: (_: string, signal: AbortSignal) =>
      new Promise((_r, reject) =>
        signal.addEventListener('abort', () => {
          const e = new Error('aborted');
          e.name = 'AbortError';
          reject(e);
        })
      )
  } as unknown as SparkdClient;
}

async function waitFor<T>(f: () => T | null | undefined | false): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = f();
    if (v) {
      return v;
    }
    await new Promise(r => setTimeout(r, 10));
  }
  throw new Error('timed out');
}

function session(over: Partial<ISession>): ISession {
  return {
    kernel_id: KID,
    config: 'local',
    state: 'ready',
    version: 1,
    ...over
  };
}

describe('SparkToolbar', () => {
  let model: SparkModel;
  let item: SparkToolbar;
  const actions: IToolbarActions = {
    configure: jest.fn(),
    details: jest.fn(),
    openUI: jest.fn()
  };

  beforeEach(async () => {
    let choice: INotebookChoice | undefined;
    model = new SparkModel({
      client: fakeClient(),
      kernel: new FakeKernel(),
      store: { get: () => choice, set: c => (choice = c) },
      trans: m => m
    });
    await model.initialize();
    model.dispatch({ type: 'no_session' }); // what the daemon says first
    item = new SparkToolbar(model, nullTranslator.load('x'), actions);
    Widget.attach(item, document.body);
  });

  afterEach(() => {
    item.dispose();
    model.dispose();
  });

  const button = () =>
    waitFor(() =>
      item.node.querySelector<HTMLButtonElement>('.jp-StartSpark-menuButton')
    );
  const popover = () => document.querySelector('.jp-StartSpark-popover');
  const escape = () =>
    document.activeElement!.dispatchEvent(
      new KeyboardEvent('keydown', { key: 'Escape', bubbles: true })
    );

  it('opens the popover with the focus in it; Escape closes it and refocuses the item', async () => {
    const b = await button();
    expect(b.getAttribute('aria-haspopup')).toBe('dialog');
    expect(b.getAttribute('aria-expanded')).toBe('false');
    b.focus();
    b.click();
    const select = await waitFor(() =>
      document.querySelector<HTMLSelectElement>(
        '.jp-StartSpark-popover select[aria-label="Spark configuration"]'
      )
    );
    await waitFor(() => document.activeElement === select);
    expect(popover()!.getAttribute('role')).toBe('dialog');
    expect(popover()!.id).toBe(b.getAttribute('aria-controls'));
    await waitFor(() => b.getAttribute('aria-expanded') === 'true');
    escape();
    expect(popover()).toBeNull();
    expect(document.activeElement).toBe(b);
    await waitFor(() => b.getAttribute('aria-expanded') === 'false');
  });

  it('closes when the item is clicked again', async () => {
    const b = await button();
    b.dispatchEvent(new MouseEvent('mousedown', { bubbles: true }));
    b.click();
    await waitFor(popover);
    b.focus();
    b.dispatchEvent(new MouseEvent('mousedown', { bubbles: true }));
    b.click();
    expect(popover()).toBeNull();
    await waitFor(() => b.getAttribute('aria-expanded') === 'false');
  });

  it('stays open while the focus passes elsewhere on its way to the item', async () => {
    const b = await button();
    b.click();
    await waitFor(popover);
    const other = document.createElement('button');
    document.body.appendChild(other);
    other.focus(); // JupyterLab's notebook takes it first on a click
    b.focus();
    await new Promise(r => setTimeout(r, 20));
    expect(popover()).not.toBeNull();
    popover()!.querySelector<HTMLElement>('select')!.focus();
    other.focus(); // out of the popover (Tab): it closes
    await waitFor(() => popover() === null);
    other.remove();
  });

  it('closes on a click elsewhere, without taking the focus', async () => {
    const b = await button();
    b.click();
    await waitFor(popover);
    const other = document.createElement('button');
    document.body.appendChild(other);
    other.focus();
    other.dispatchEvent(new MouseEvent('mousedown', { bubbles: true }));
    expect(popover()).toBeNull();
    expect(document.activeElement).toBe(other);
    other.remove();
  });

  it('has the chip, one action and, when ready, the Spark UI in the popover', async () => {
    const b = await button();
    await waitFor(() =>
      item.node.querySelector('.jp-StartSpark-chip-not-started')
    );
    expect(item.node.querySelectorAll('.jp-StartSpark-action').length).toBe(1);
    expect(item.node.querySelector('.jp-StartSpark-start')).not.toBeNull();
    model.dispatch({
      type: 'session',
      session: session({ ui_path: 'ui/k/', master: 'local[*]', cores: 2 }),
      now: Date.now()
    });
    await waitFor(() => item.node.querySelector('.jp-StartSpark-chip-ready'));
    expect(item.node.querySelectorAll('.jp-StartSpark-action').length).toBe(1);
    expect(item.node.querySelector('.jp-StartSpark-stop')).not.toBeNull();
    expect(
      item.node.querySelector('.jp-StartSpark-chipText')!.textContent
    ).toBe('Ready');
    // nothing but the chip and the action in the toolbar
    expect(item.node.querySelector('.jp-StartSpark-ui')).toBeNull();
    expect(item.node.querySelector('select')).toBeNull();
    b.click();
    const ui = await waitFor(() =>
      document.querySelector<HTMLElement>(
        '.jp-StartSpark-popover .jp-StartSpark-ui'
      )
    );
    expect(popover()!.textContent).toContain('Ready: local[*] · 2 cores');
    expect(
      document.querySelector<HTMLSelectElement>(
        '.jp-StartSpark-popover select'
      )!.disabled
    ).toBe(true);
    ui.click();
    expect(actions.openUI).toHaveBeenCalledWith(model);
    expect(popover()).toBeNull();
  });

  it('shows a failure’s message and hint in the popover, with the details', async () => {
    const b = await button();
    model.dispatch({
      type: 'error',
      message: 'All masters are unresponsive',
      hint: 'Check the master URL.'
    });
    await waitFor(() => item.node.querySelector('.jp-StartSpark-chip-failed'));
    b.click();
    const details = await waitFor(() =>
      document.querySelector<HTMLElement>('.jp-StartSpark-detailsButton')
    );
    expect(
      popover()!.querySelector('.jp-StartSpark-popMessage')!.textContent
    ).toBe('All masters are unresponsive');
    expect(
      popover()!.querySelector('.jp-StartSpark-popHint')!.textContent
    ).toBe('Hint: Check the master URL.');
    details.click();
    expect(actions.details).toHaveBeenCalledWith(model);
  });

  it('amber after a failed job, with the reason in the popover, until it closes', async () => {
    const b = await button();
    model.dispatch({
      type: 'session',
      session: session({ version: 3 }),
      now: 0
    });
    model.dispatch({
      type: 'progress',
      progress: {
        kernel_id: KID,
        version: 2,
        state: 'ready',
        jobs: [{ id: 1, status: 'failed' }],
        executors: null,
        summary: {
          running: 0,
          failed: 1,
          tasks_done: 0,
          tasks_total: 0,
          percent: 0
        }
      }
    });
    await waitFor(() => item.node.querySelector('.jp-StartSpark-chip-warn'));
    b.click();
    const head = await waitFor(() =>
      document.querySelector<HTMLElement>('.jp-StartSpark-popState')
    );
    expect(head.textContent).toContain('1 job failed');
    expect(head.classList).toContain('jp-StartSpark-popState-warn');
    b.click(); // closes: seen
    expect(popover()).toBeNull();
    await waitFor(() => !item.node.querySelector('.jp-StartSpark-chip-warn'));
    expect(item.node.querySelector('.jp-StartSpark-chip-ready')).not.toBeNull();
  });

  it('after an idle stop: the notice and Start again in the popover', async () => {
    const b = await button();
    model.dispatch({
      type: 'session',
      session: session({ version: 3 }),
      now: 0
    });
    model.dispatch({
      type: 'session',
      session: session({
        version: 4,
        state: 'stopped',
        reason: 'idle',
        message: 'Spark stopped after 30 min idle'
      }),
      now: 0
    });
    await waitFor(() => item.node.querySelector('.jp-StartSpark-chip-notice'));
    expect(
      item.node.querySelector('.jp-StartSpark-chipText')!.textContent
    ).toBe('Stopped (idle)');
    const start = jest.spyOn(model, 'start').mockResolvedValue(null);
    b.click();
    const again = await waitFor(() =>
      document.querySelector<HTMLButtonElement>('.jp-StartSpark-startAgain')
    );
    expect(
      popover()!.querySelector('.jp-StartSpark-popState')!.textContent
    ).toBe('Spark stopped after 30 min idle');
    expect(again.disabled).toBe(false);
    again.click();
    expect(start).toHaveBeenCalled();
    expect(popover()).toBeNull();
  });
});
