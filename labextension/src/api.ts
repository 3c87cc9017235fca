/**
 * The daemon's endpoints the toolbar uses, on top of requestAPI.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { PROXY_NAME, requestAPI } from './request';
import { IConfigDoc, IConfigList, ISession, Overrides } from './types';

export class SparkdClient {
  constructor(
    readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  /** GET api/configs */
  configs(): Promise<IConfigList> {
    return requestAPI<IConfigList>('api/configs', {}, this.settings);
  }

  /** GET api/configs/NAME: the whole resolved configuration. */
  config(name: string): Promise<IConfigDoc> {
    return requestAPI<IConfigDoc>(
      `api/configs/${encodeURIComponent(name)}`,
      {},
      this.settings
    );
  }

  /** PUT api/configs/NAME: saves a personal configuration. */
  saveConfig(name: string, doc: IConfigDoc): Promise<IConfigDoc> {
    return requestAPI<IConfigDoc>(
      `api/configs/${encodeURIComponent(name)}`,
      { method: 'PUT', body: doc },
      this.settings
    );
  }

  /** POST api/sessions: starts Spark in a kernel (202, state starting). */
  start(
    kernelId: string,
    config: string,
    overrides: Overrides,
    restart: boolean
  ): Promise<ISession> {
    return requestAPI<ISession>(
      'api/sessions',
      {
        method: 'POST',
        body: { config, kernel_id: kernelId, overrides, restart }
      },
      this.settings
    );
  }

  /** DELETE api/sessions/KERNEL: stops Spark, keeps the kernel. */
  stop(kernelId: string): Promise<ISession> {
    return requestAPI<ISession>(
      `api/sessions/${encodeURIComponent(kernelId)}`,
      { method: 'DELETE' },
      this.settings
    );
  }

  /** A GET for the long-poll follower. */
  get<T>(path: string, signal: AbortSignal): Promise<T> {
    return requestAPI<T>(path, { signal }, this.settings);
  }

  /**
   * The browser URL of a session's Spark UI (`ui_path` is absolute): its
   * Jobs page.  Spark would redirect the UI's root there, but a redirect
   * through jupyter-server-proxy (>= 4.6 prefixes root-relative Location
   * headers with the route) can land on a doubled prefix, so the link
   * points at the page itself.
   */
  uiUrl(uiPath: string): string {
    const page = /(^|\/)ui\/[^/]+\/$/.test(uiPath) ? uiPath + 'jobs/' : uiPath;
    if (page.startsWith('/') || /^https?:\/\//.test(page)) {
      return page;
    }
    return URLExt.join(this.settings.baseUrl, PROXY_NAME, page);
  }
}

/**
 * The body for "Save as my configuration": the resolved configuration with
 * the overrides applied to its `conf`, renamed, without the members the
 * daemon adds when it answers (source, path, default, summary, locked,
 * error).
 */
export function personalConfig(
  doc: IConfigDoc,
  name: string,
  overrides: Overrides
): IConfigDoc {
  const out: IConfigDoc = { ...doc, name };
  for (const k of ['source', 'path', 'default', 'summary', 'locked', 'error']) {
    delete out[k];
  }
  out.display_name = name;
  out.conf = { ...(doc.conf ?? {}), ...overrides };
  return out;
}

/** Configuration names the daemon accepts. */
export function validConfigName(s: string): boolean {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(s) && s !== '.' && s !== '..';
}
