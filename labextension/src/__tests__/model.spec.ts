import { Signal } from '@lumino/signaling';

import { SparkdClient } from '../api';
import { IChoiceStore, IKernelSource, SparkModel, hintFor } from '../model';
import { SparkdError } from '../request';
import { IConfigList, INotebookChoice, ISession } from '../types';

const KID = '0b6b4d2e-58a3-4d3c-9a47-3c5f3c1f2a10';
const KID2 = '7d0e8f51-2a8e-4a43-b2a7-6c1f0f9b1c22';

const CONFIGS: IConfigList = {
  default: 'local',
  configs: [
    {
      name: 'broken',
      display_name: 'broken',
      source: 'system',
      locked: false,
      default: false,
      error: 'x:1:1: bad'
    },
    {
      name: 'local',
      display_name: 'Local',
      source: 'system',
      locked: false,
      default: true
    },
    {
      name: 'yarn',
      display_name: 'YARN',
      source: 'system',
      locked: false,
      default: false
    }
  ]
};

function session(over: Partial<ISession> = {}): ISession {
  return {
    kernel_id: KID,
    config: 'local',
    state: 'starting',
    version: 1,
    ...over
  };
}

class FakeKernel implements IKernelSource {
  kernelId: string | null = KID;
  kernelChanged = new Signal<this, unknown>(this);
  statusChanged = new Signal<this, string>(this);
}

/** A client whose long polls hang until aborted, recording their paths. */
function fakeClient(over: Partial<Record<keyof SparkdClient, unknown>> = {}) {
  const polls: string[] = [];
  const client = {
    configs: jest.fn(async () => CONFIGS),
    start: jest.fn(async (kid: string, config: string) =>
      session({ kernel_id: kid, config, version: 2 })
    ),
    stop: jest.fn(async (kid: string) =>
      session({ kernel_id: kid, state: 'stopping', version: 3 })
    ),
    uiUrl: (p: string) => p,
    get: jest.fn((path: string, signal: AbortSignal) => {
      polls.push(path);
      return new Promise((_, reject) =>
        signal.addEventListener('abort', () => {
          const e = new Error('aborted');
          e.name = 'AbortError';
          reject(e);
        })
      );
    }),
    ...over
  };
  return { client: client as unknown as SparkdClient, polls, raw: client };
}

function store(
  initial?: INotebookChoice
): IChoiceStore & { value?: INotebookChoice } {
  const s = {
    value: initial,
    get: () => s.value,
    set: (c: INotebookChoice) => {
      s.value = c;
    }
  };
  return s;
}

const trans = (m: string) => m;

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await Promise.resolve();
  }
}

function make(
  opts: {
    choice?: INotebookChoice;
    defaultConfig?: string;
    client?: ReturnType<typeof fakeClient>;
  } = {}
) {
  const kernel = new FakeKernel();
  const c = opts.client ?? fakeClient();
  const st = store(opts.choice);
  const model = new SparkModel({
    client: c.client,
    kernel,
    store: st,
    trans,
    defaultConfig: opts.defaultConfig,
    now: () => 1_700_000_000_000
  });
  return { model, kernel, c, st };
}

describe('SparkModel', () => {
  let models: SparkModel[] = [];
  afterEach(() => {
    models.forEach(m => m.dispose());
    models = [];
  });
  const track = <T extends { model: SparkModel }>(t: T) => {
    models.push(t.model);
    return t;
  };

  it('preselects the daemon default, skipping broken configurations', async () => {
    const { model } = track(make());
    await model.initialize();
    expect(model.selected).toBe('local');
  });

  it('prefers the notebook metadata, then the settings default', async () => {
    const a = track(make({ choice: { config: 'yarn', overrides: { x: 1 } } }));
    await a.model.initialize();
    expect([a.model.selected, a.model.overrides]).toEqual(['yarn', { x: 1 }]);
    const b = track(make({ defaultConfig: 'yarn' }));
    await b.model.initialize();
    expect(b.model.selected).toBe('yarn');
    const c = track(
      make({
        choice: { config: 'gone', overrides: {} },
        defaultConfig: 'broken'
      })
    );
    await c.model.initialize();
    expect(c.model.selected).toBe('local');
  });

  it('remembers a new choice in the notebook metadata', async () => {
    const { model, st } = track(make());
    await model.initialize();
    model.select('yarn');
    expect(st.value).toEqual({ config: 'yarn', overrides: {} });
    model.setOverrides({ 'spark.executor.instances': 4 });
    expect(st.value).toEqual({
      config: 'yarn',
      overrides: { 'spark.executor.instances': 4 }
    });
  });

  it('follows the kernel and re-follows on kernel change and restart', async () => {
    const { model, kernel, c } = track(make());
    await model.initialize();
    await settle();
    expect(c.polls).toEqual([`api/sessions/${KID}`]);
    kernel.kernelId = KID2;
    kernel.kernelChanged.emit(undefined);
    await settle();
    expect(c.polls[1]).toBe(`api/sessions/${KID2}`);
    expect(model.state.kind).toBe('loading');
    kernel.statusChanged.emit('restarting');
    await settle();
    expect(c.polls[2]).toBe(`api/sessions/${KID2}`);
    kernel.kernelId = null;
    kernel.kernelChanged.emit(undefined);
    await settle();
    expect(c.polls.length).toBe(3);
    expect(model.state.kind).toBe('no_kernel');
    expect(model.canStart).toBe(false);
  });

  it('start posts the selection and shows the daemon answer', async () => {
    const { model, c } = track(make());
    await model.initialize();
    model.dispatch({ type: 'no_session' });
    expect(model.canStart).toBe(true);
    const err = await model.start({ 'spark.driver.memory': '2g' });
    expect(err).toBeNull();
    expect(c.raw.start).toHaveBeenCalledWith(
      KID,
      'local',
      { 'spark.driver.memory': '2g' },
      false
    );
    expect(model.state).toMatchObject({
      kind: 'starting',
      version: 2,
      pending: false
    });
  });

  it('an invalid override leaves the state as it was, for the dialog', async () => {
    const c = fakeClient({
      start: jest.fn(async () => {
        throw new SparkdError(
          400,
          'invalid_override',
          'spark.driver.memory: 64g is above the maximum 8g'
        );
      })
    });
    const { model } = track(make({ client: c }));
    await model.initialize();
    model.dispatch({ type: 'no_session' });
    const err = await model.start({ 'spark.driver.memory': '64g' });
    expect(err?.code).toBe('invalid_override');
    expect(model.state.kind).toBe('not_started');
  });

  it('other start errors show as failed with a hint', async () => {
    const c = fakeClient({
      start: jest.fn(async () => {
        throw new SparkdError(
          404,
          'kernel_not_found',
          'no connection file for that kernel'
        );
      })
    });
    const { model } = track(make({ client: c }));
    await model.initialize();
    model.dispatch({ type: 'no_session' });
    await model.start();
    expect(model.state).toMatchObject({
      kind: 'failed',
      message: 'no connection file for that kernel',
      config: 'local'
    });
    expect(model.state.kind === 'failed' && model.state.hint).toContain(
      'kernel'
    );
  });

  it('follows the jobs while ready, and only then', async () => {
    const { model, c } = track(make());
    await model.initialize();
    const progressPolls = () =>
      c.polls.filter(p => p.startsWith(`api/sessions/${KID}/progress`));
    expect(progressPolls()).toEqual([]);
    model.dispatch({
      type: 'session',
      session: session({ state: 'ready', version: 5 }),
      now: 0
    });
    await Promise.resolve();
    expect(progressPolls()).toEqual([`api/sessions/${KID}/progress`]);
    // a new version of the same ready session: the same follower
    model.dispatch({
      type: 'session',
      session: session({ state: 'ready', version: 6, jobs_running: 1 }),
      now: 0
    });
    await Promise.resolve();
    expect(progressPolls()).toHaveLength(1);
    let changes = 0;
    model.progressChanged.connect(() => changes++);
    model.dispatch({
      type: 'session',
      session: session({ state: 'stopped', version: 7 }),
      now: 0
    });
    expect(model.progress).toBeNull();
    await Promise.resolve();
    expect(progressPolls()).toHaveLength(1);
    expect(changes).toBe(0); // no answer had come: nothing to clear
  });

  it('a progress answer updates the chip state and tells the cells', async () => {
    const answers = [
      {
        kernel_id: KID,
        version: 1,
        state: 'ready',
        jobs: [{ id: 0, status: 'running', tasks: { total: 4, done: 1 } }],
        executors: { alive: 1, dead: 0 },
        summary: {
          running: 1,
          failed: 0,
          tasks_done: 1,
          tasks_total: 4,
          percent: 25
        }
      }
    ];
    const base = fakeClient();
    const hang = base.client.get.bind(base.client);
    const c = fakeClient({
      get: jest.fn((path: string, signal: AbortSignal) =>
        path.includes('/progress') && answers.length
          ? Promise.resolve(answers.shift())
          : hang(path, signal)
      )
    });
    const { model } = track(make({ client: c }));
    await model.initialize();
    let changes = 0;
    model.progressChanged.connect(() => changes++);
    model.dispatch({
      type: 'session',
      session: session({ state: 'ready', version: 5 }),
      now: 0
    });
    for (let i = 0; i < 10; i++) {
      await Promise.resolve();
    }
    expect(changes).toBe(1);
    expect(model.progress?.jobs).toHaveLength(1);
    expect(model.state).toMatchObject({
      kind: 'ready',
      activity: { jobs: 1, percent: 25, executors: 1 }
    });
  });

  it('stop deletes the session', async () => {
    const { model, c } = track(make());
    await model.initialize();
    model.dispatch({
      type: 'session',
      session: session({ state: 'ready', version: 5 }),
      now: 0
    });
    expect(model.canStop).toBe(true);
    await model.stop();
    expect(c.raw.stop).toHaveBeenCalledWith(KID);
    expect(model.state.kind).toBe('stopping');
  });

  it('a running session selects its configuration in the dropdown', async () => {
    const c = fakeClient({
      get: jest.fn(async () =>
        session({ config: 'yarn', state: 'ready', version: 4, ui_path: '/u/' })
      )
    });
    const { model } = track(make({ client: c }));
    await model.initialize();
    await settle();
    model.dispose();
    expect(model.selected).toBe('yarn');
    expect(model.uiUrl).toBe('/u/');
  });

  it('hints for transport errors', () => {
    expect(hintFor(new SparkdError(0, 'network_error', ''), trans)).toContain(
      'systemctl'
    );
    expect(hintFor(new SparkdError(400, 'whatever', ''), trans)).toBeNull();
  });
});
