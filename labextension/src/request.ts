/**
 * Talking to sparkd through the Jupyter server's proxy route
 * (`<baseUrl>/sparkd/...`, installed by this package's
 * jupyter-server-proxy entry point).  ServerConnection adds the XSRF header
 * and the token, so the daemon's own XSRF check passes.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** The URL segment the proxy route is mounted at. */
export const PROXY_NAME = 'sparkd';

/**
 * A failed call: `status` is the HTTP status (0 when the request never got
 * an answer), `code` the daemon's snake_case code, or one of ours:
 * `network_error`, `daemon_unreachable`, `http_error`, `invalid_response`.
 */
export class SparkdError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string
  ) {
    super(message);
    this.name = 'SparkdError';
  }
}

/** True for errors worth retrying later (no answer, proxy or daemon down). */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof SparkdError)) {
    return false;
  }
  return err.status === 0 || err.status >= 500 || err.status === 408;
}

/** True when err comes from an aborted request (a stopped follower). */
export function isAbort(err: unknown): boolean {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as { name?: string }).name === 'AbortError'
  );
}

/** The daemon's `{"error": {"code", "message"}}`, or null. */
function daemonError(body: string): { code: string; message: string } | null {
  try {
    const v = JSON.parse(body) as {
      error?: { code?: unknown; message?: unknown };
    };
    const e = v && typeof v === 'object' ? v.error : undefined;
    if (e && typeof e.code === 'string' && typeof e.message === 'string') {
      return { code: e.code, message: e.message };
    }
  } catch {
    /* not JSON: handled by the caller */
  }
  return null;
}

/** The error for a non-2xx answer that has no daemon error body. */
function foreignError(response: Response, body: string): SparkdError {
  const s = response.status;
  // sparkd answers every error with its JSON: a 5xx without it comes from
  // the proxy (jupyter-server-proxy answers 500 when the socket is missing
  // or refuses connections, 599 on timeouts).
  if (s >= 500) {
    return new SparkdError(
      s,
      'daemon_unreachable',
      `The Start Spark service (sparkd) is not reachable (HTTP ${s}).`
    );
  }
  // An HTML page (Jupyter's own error pages) says nothing useful in a chip.
  const html = /^\s*</.test(body);
  const text = html ? '' : body.replace(/\s+/g, ' ').trim();
  const snippet = text.length > 200 ? text.slice(0, 200) + '…' : text;
  return new SparkdError(
    s,
    'http_error',
    `HTTP ${s}${response.statusText ? ' ' + response.statusText : ''}` +
      (snippet ? `: ${snippet}` : '')
  );
}

/**
 * Calls sparkd at `path` (e.g. `api/configs`, may carry a query string).
 * A body that is not a string is sent as JSON.  Resolves with the parsed
 * JSON answer (undefined for 204 or an empty body); rejects with a
 * SparkdError, or with the AbortError when init.signal aborted.
 */
export async function requestAPI<T>(
  path: string,
  init: Omit<RequestInit, 'body'> & { body?: unknown } = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, PROXY_NAME, path);
  const { body, ...rest } = init;
  const req: RequestInit = { ...rest };
  if (body !== undefined) {
    req.body = typeof body === 'string' ? body : JSON.stringify(body);
    const headers = new settings.Headers(rest.headers ?? {});
    if (!headers.has('Content-Type')) {
      headers.set('Content-Type', 'application/json');
    }
    req.headers = headers;
  }

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, req, settings);
  } catch (e) {
    if (init.signal?.aborted || isAbort(e)) {
      throw abortError(e);
    }
    throw new SparkdError(0, 'network_error', (e as Error).message);
  }

  let text: string;
  try {
    text = await response.text();
  } catch (e) {
    if (init.signal?.aborted || isAbort(e)) {
      throw abortError(e);
    }
    throw new SparkdError(0, 'network_error', (e as Error).message);
  }

  if (!response.ok) {
    const de = daemonError(text);
    throw de
      ? new SparkdError(response.status, de.code, de.message)
      : foreignError(response, text);
  }
  if (response.status === 204 || text.trim() === '') {
    return undefined as T;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new SparkdError(
      response.status,
      'invalid_response',
      'The answer from sparkd is not JSON.'
    );
  }
}

/** An Error named AbortError (keeping the original's message). */
function abortError(e: unknown): Error {
  const err = new Error((e as Error)?.message || 'aborted');
  err.name = 'AbortError';
  return err;
}
