/**
 * One notebook panel's Spark toolbar model: the configurations, the chosen
 * one (remembered in the notebook's metadata), the state (state.ts), and
 * the long-poll follower of the panel's kernel.  Emits `changed` whenever
 * anything shown changes.
 */
import { ISignal, Signal } from '@lumino/signaling';
import { IDisposable } from '@lumino/disposable';

import { SparkdClient } from './api';
import { Translate } from './overrides';
import { SparkdError, isTransient } from './request';
import { ProgressFollower, SessionFollower } from './follower';
import {
  INITIAL,
  ToolbarEvent,
  ToolbarState,
  canStart,
  canStop,
  countdown,
  reduce,
  uiPathOf
} from './state';
import { COUNTDOWN_SECONDS } from './progress';
import {
  IConfigInfo,
  INotebookChoice,
  IProgress,
  ISession,
  Overrides
} from './types';

/** Where the panel's kernel comes from (a narrow ISessionContext). */
export interface IKernelSource {
  readonly kernelId: string | null;
  readonly kernelChanged: ISignal<unknown, unknown>;
  /** Emits kernel statuses; 'restarting'/'autorestarting' restart following. */
  readonly statusChanged: ISignal<unknown, string>;
}

/** The notebook's `start_spark` metadata. */
export interface IChoiceStore {
  get(): INotebookChoice | undefined;
  set(choice: INotebookChoice): void;
}

/** The hint shown for an error code of a start or stop request. */
export function hintFor(err: SparkdError, trans: Translate): string | null {
  switch (err.code) {
    case 'kernel_not_found':
      return trans(
        'The kernel is not running yet. Wait until it is idle, then try again.'
      );
    case 'config_invalid':
    case 'template_error':
    case 'config_not_found':
      return trans(
        'This configuration cannot be used. Pick another one or ask your administrator.'
      );
    case 'daemon_unreachable':
    case 'network_error':
      return trans(
        'The Start Spark service is not answering. Restart your server from the Hub control panel, or run "systemctl --user status sparkd" in a terminal.'
      );
    case 'xsrf':
      return trans('Reload the page and try again.');
    default:
      return null;
  }
}

export class SparkModel implements IDisposable {
  constructor(options: SparkModel.IOptions) {
    this._client = options.client;
    this._kernel = options.kernel;
    this._store = options.store;
    this._trans = options.trans;
    this._defaultConfig = options.defaultConfig ?? '';
    this._now = options.now ?? Date.now;
    this._kernel.kernelChanged.connect(this._onKernelChanged, this);
    this._kernel.statusChanged.connect(this._onStatus, this);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }
  /** The Spark jobs changed (a progress answer, or none any more). */
  get progressChanged(): ISignal<this, void> {
    return this._progressChanged;
  }
  /** The last progress answer of the ready session (null: none). */
  get progress(): IProgress | null {
    return this._progress;
  }
  /** When the last progress answer came (epoch ms). */
  get progressAt(): number {
    return this._progressAt;
  }
  get state(): ToolbarState {
    return this._state;
  }
  get configs(): readonly IConfigInfo[] {
    return this._configs;
  }
  get configsError(): string | null {
    return this._configsError;
  }
  get selected(): string {
    return this._selected;
  }
  get overrides(): Overrides {
    return this._overrides;
  }
  get kernelId(): string | null {
    return this._kernel.kernelId;
  }
  get client(): SparkdClient {
    return this._client;
  }
  get isDisposed(): boolean {
    return this._disposed;
  }
  get canStart(): boolean {
    return (
      this.kernelId !== null && this._selected !== '' && canStart(this._state)
    );
  }
  get canStop(): boolean {
    return canStop(this._state);
  }
  get uiUrl(): string | null {
    const p = uiPathOf(this._state);
    return p ? this._client.uiUrl(p) : null;
  }
  /** The info of the selected configuration, if listed. */
  get selectedInfo(): IConfigInfo | undefined {
    return this._configs.find(c => c.name === this._selected);
  }

  /** Loads the configurations and starts following the kernel. */
  async initialize(): Promise<void> {
    this._onKernelChanged();
    await this.refreshConfigs();
  }

  /** (Re)loads the configuration list; keeps the choice when it still exists. */
  async refreshConfigs(): Promise<void> {
    try {
      const list = await this._client.configs();
      if (this._disposed) {
        return;
      }
      this._configs = list.configs ?? [];
      this._configsError = null;
      this._listDefault = list.default;
      this._pickInitial();
    } catch (e) {
      this._configsError = (e as Error).message;
    }
    this._emit();
  }

  /** Sets the default from the settings (used when nothing is remembered). */
  setDefaultConfig(name: string): void {
    this._defaultConfig = name;
    if (!this._store.get()) {
      this._pickInitial();
      this._emit();
    }
  }

  /** The user picked another configuration: remembered in the notebook. */
  select(name: string): void {
    if (name === this._selected) {
      return;
    }
    this._selected = name;
    this._overrides = {};
    this._store.set({ config: name, overrides: {} });
    this._emit();
  }

  /** Remembers overrides for the selected configuration. */
  setOverrides(overrides: Overrides): void {
    this._overrides = { ...overrides };
    this._store.set({ config: this._selected, overrides: this._overrides });
    this._emit();
  }

  /**
   * Starts Spark in the kernel with the selected configuration (restart:
   * stop a running session first).  Resolves with null, or the error;
   * an `invalid_override` error leaves the state as it was (the dialog
   * shows it), others show as failed.
   */
  async start(
    overrides: Overrides = this._overrides,
    restart = false
  ): Promise<SparkdError | null> {
    const kid = this.kernelId;
    if (kid === null || this._selected === '') {
      return null;
    }
    if (!restart && !canStart(this._state)) {
      return null;
    }
    const before = this._state;
    const config = this._selected;
    if (restart) {
      this._state = { kind: 'loading', version: before.version };
    }
    this.dispatch({ type: 'start', config, now: this._now() });
    try {
      const s = await this._client.start(kid, config, overrides, restart);
      this._onSession(s);
      return null;
    } catch (e) {
      const err = asSparkdError(e);
      if (err.code === 'invalid_override' || err.code === 'session_exists') {
        // The dialog shows the former; the follower brings the latter's state.
        this._state = before;
        this._emit();
      } else {
        this.dispatch({
          type: 'error',
          message: err.message,
          hint: hintFor(err, this._trans),
          config
        });
      }
      return err;
    }
  }

  /** Stops Spark in the kernel (the kernel keeps running). */
  async stop(): Promise<SparkdError | null> {
    const kid = this.kernelId;
    if (kid === null || !canStop(this._state)) {
      return null;
    }
    const before = this._state;
    this.dispatch({ type: 'stop' });
    try {
      this._onSession(await this._client.stop(kid));
      return null;
    } catch (e) {
      const err = asSparkdError(e);
      if (err.code === 'session_not_found') {
        this.dispatch({ type: 'no_session' });
      } else {
        this._state = before;
        this._emit();
      }
      return err;
    }
  }

  /** The user looked at the state: failures and losses are seen. */
  markSeen(): void {
    this.dispatch({ type: 'seen' });
  }

  /** Applies an event to the state and tells the view. */
  dispatch(event: ToolbarEvent): void {
    const next = reduce(this._state, event);
    if (next !== this._state) {
      this._state = next;
      this._emit();
    }
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._follower?.stop();
    this._follower = null;
    this._stopProgress();
    this._stopTicker();
    this._clearCountdownTimer();
    Signal.clearData(this);
  }

  private _pickInitial(): void {
    const has = (n: string | null | undefined): n is string =>
      !!n && this._configs.some(c => c.name === n && !c.error);
    const remembered = this._store.get();
    if (remembered && has(remembered.config)) {
      this._selected = remembered.config;
      this._overrides = { ...(remembered.overrides ?? {}) };
      return;
    }
    if (this._selected && has(this._selected)) {
      return;
    }
    const first = this._configs.find(c => !c.error)?.name ?? '';
    this._selected = has(this._defaultConfig)
      ? this._defaultConfig
      : has(this._listDefault)
        ? this._listDefault
        : first;
    this._overrides = {};
  }

  private _onKernelChanged(): void {
    if (this._disposed) {
      return;
    }
    this._follower?.stop();
    this._follower = null;
    const kid = this._kernel.kernelId;
    this.dispatch({ type: 'kernel', kernelId: kid });
    this._emit();
    if (kid === null) {
      return;
    }
    const f = new SessionFollower({
      kernelId: kid,
      get: <T>(path: string, signal: AbortSignal) =>
        this._client.get<T>(path, signal),
      onSession: s => this._onSession(s),
      onNoSession: () => this.dispatch({ type: 'no_session' }),
      onError: (e, failures) => {
        const err = asSparkdError(e);
        if (isTransient(err) || failures > 1) {
          this.dispatch({ type: 'unreachable', message: err.message });
        }
      }
    });
    this._follower = f;
    void f.start();
  }

  private _onStatus(_: unknown, status: string): void {
    if (status === 'restarting' || status === 'autorestarting') {
      this._onKernelChanged();
    }
  }

  private _onSession(s: ISession): void {
    if (this._disposed || s.kernel_id !== this.kernelId) {
      return;
    }
    this.dispatch({ type: 'session', session: s, now: this._now() });
    // The daemon is the source of truth for the configuration in use.
    const st = this._state;
    if (
      (st.kind === 'starting' || st.kind === 'ready') &&
      st.config !== this._selected &&
      this._configs.some(c => c.name === st.config)
    ) {
      this._selected = st.config;
      this._overrides = { ...(s.overrides ?? {}) };
      this._emit();
    }
  }

  private _emit(): void {
    if (this._disposed) {
      return;
    }
    this._syncProgress();
    const now = this._now();
    if (
      this._state.kind === 'starting' ||
      countdown(this._state, now) !== null
    ) {
      this._startTicker();
    } else {
      this._stopTicker();
    }
    this._armCountdown(now);
    this._changed.emit();
  }

  /** Follows the jobs while the session is ready (once per ready run). */
  private _syncProgress(): void {
    const st = this._state;
    const kid = this.kernelId;
    if (st.kind !== 'ready' || kid === null) {
      this._progressDone = false;
      this._stopProgress();
      return;
    }
    if (
      this._progressFollower?.kernelId === kid ||
      (this._progressDone && this._progressKernel === kid)
    ) {
      return;
    }
    this._stopProgress();
    this._progressKernel = kid;
    this._progressDone = false;
    const f: ProgressFollower = new ProgressFollower({
      kernelId: kid,
      get: <T>(path: string, signal: AbortSignal) =>
        this._client.get<T>(path, signal),
      onProgress: p => {
        if (this._disposed || this._progressFollower !== f) {
          return;
        }
        this._progress = p;
        this._progressAt = this._now();
        this.dispatch({ type: 'progress', progress: p });
        this._progressChanged.emit();
      },
      onEnd: () => {
        if (this._progressFollower === f) {
          this._progressFollower = null;
          this._progressDone = true;
        }
      }
    });
    this._progressFollower = f;
    void f.start();
  }

  private _stopProgress(): void {
    if (this._progressFollower) {
      this._progressFollower.stop();
      this._progressFollower = null;
    }
    if (this._progress !== null) {
      this._progress = null;
      this._progressChanged.emit();
    }
  }

  /** A timer to the moment the idle countdown begins (no ticking before). */
  private _armCountdown(now: number): void {
    this._clearCountdownTimer();
    const st = this._state;
    if (
      st.kind !== 'ready' ||
      st.idleDeadline === null ||
      (st.activity?.jobs ?? st.jobsRunning) > 0
    ) {
      return;
    }
    const ms = (st.idleDeadline - COUNTDOWN_SECONDS) * 1000 - now;
    if (ms > 0) {
      this._countdownTimer = setTimeout(() => {
        this._countdownTimer = null;
        this._emit();
      }, ms + 50);
    }
  }

  private _clearCountdownTimer(): void {
    if (this._countdownTimer !== null) {
      clearTimeout(this._countdownTimer);
      this._countdownTimer = null;
    }
  }

  /** While starting or counting down, re-render once a second. */
  private _startTicker(): void {
    if (this._ticker === null) {
      this._ticker = setInterval(() => this._changed.emit(), 1000);
    }
  }
  private _stopTicker(): void {
    if (this._ticker !== null) {
      clearInterval(this._ticker);
      this._ticker = null;
    }
  }

  private _client: SparkdClient;
  private _kernel: IKernelSource;
  private _store: IChoiceStore;
  private _trans: Translate;
  private _defaultConfig: string;
  private _listDefault: string | null = null;
  private _now: () => number;
  private _state: ToolbarState = INITIAL;
  private _configs: IConfigInfo[] = [];
  private _configsError: string | null = null;
  private _selected = '';
  private _overrides: Overrides = {};
  private _follower: SessionFollower | null = null;
  private _ticker: ReturnType<typeof setInterval> | null = null;
  private _countdownTimer: ReturnType<typeof setTimeout> | null = null;
  private _progressFollower: ProgressFollower | null = null;
  private _progressKernel: string | null = null;
  private _progressDone = false;
  private _progress: IProgress | null = null;
  private _progressAt = 0;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
  private _progressChanged = new Signal<this, void>(this);
}

export namespace SparkModel {
  export interface IOptions {
    client: SparkdClient;
    kernel: IKernelSource;
    store: IChoiceStore;
    trans: Translate;
    defaultConfig?: string;
    now?: () => number;
  }
}

/** Any thrown value as a SparkdError. */
export function asSparkdError(e: unknown): SparkdError {
  return e instanceof SparkdError
    ? e
    : new SparkdError(0, 'network_error', String((e as Error)?.message ?? e));
}
