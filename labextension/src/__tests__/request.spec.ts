import { ServerConnection } from '@jupyterlab/services';

import { SparkdError, isTransient, requestAPI } from '../request';

const BASE = 'http://localhost:8888/user/alice/';

type FetchMock = jest.Mock<Promise<Response>, [Request]>;

function settingsWith(fetchImpl: FetchMock): ServerConnection.ISettings {
  return ServerConnection.makeSettings({
    baseUrl: BASE,
    fetch: fetchImpl as unknown as typeof fetch
  });
}

function answer(status: number, body: string, statusText = ''): FetchMock {
  return jest.fn(
    async (_req: Request) => new Response(body || null, { status, statusText })
  );
}

function json(status: number, value: unknown): FetchMock {
  return jest.fn(
    async (_req: Request) =>
      new Response(JSON.stringify(value), {
        status,
        headers: { 'Content-Type': 'application/json' }
      })
  );
}

async function caught(p: Promise<unknown>): Promise<SparkdError> {
  try {
    await p;
  } catch (e) {
    return e as SparkdError;
  }
  throw new Error('expected a rejection');
}

afterEach(() => {
  document.cookie = '_xsrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT';
});

describe('requestAPI', () => {
  it('GETs through the proxy route and parses JSON', async () => {
    const f = json(200, { status: 'ok', version: '0.1.0', configs: 5 });
    const r = await requestAPI<{ status: string }>(
      'api/health',
      {},
      settingsWith(f)
    );
    expect(r).toEqual({ status: 'ok', version: '0.1.0', configs: 5 });
    expect(f).toHaveBeenCalledTimes(1);
    const req = f.mock.calls[0][0];
    expect(req.method).toBe('GET');
    expect(new URL(req.url).pathname).toBe('/user/alice/sparkd/api/health');
  });

  it('keeps a query string', async () => {
    const f = json(200, { version: 3, sessions: [] });
    await requestAPI('api/sessions?wait=25&version=2', {}, settingsWith(f));
    const u = new URL(f.mock.calls[0][0].url);
    expect(u.pathname).toBe('/user/alice/sparkd/api/sessions');
    expect(u.searchParams.get('wait')).toBe('25');
    expect(u.searchParams.get('version')).toBe('2');
  });

  it('sends objects as JSON with the XSRF token from the cookie', async () => {
    document.cookie = '_xsrf=2|abc|def';
    const f = json(202, { kernel_id: 'k', state: 'starting', version: 1 });
    const body = {
      config: 'local',
      kernel_id: 'k',
      overrides: {},
      restart: false
    };
    await requestAPI('api/sessions', { method: 'POST', body }, settingsWith(f));
    const req = f.mock.calls[0][0];
    expect(req.method).toBe('POST');
    expect(req.headers.get('Content-Type')).toBe('application/json');
    expect(req.headers.get('X-XSRFToken')).toBe('2|abc|def');
    expect(JSON.parse(await req.text())).toEqual(body);
  });

  it('resolves undefined for 204', async () => {
    const f = answer(204, '');
    await expect(
      requestAPI('api/configs/mine', { method: 'DELETE' }, settingsWith(f))
    ).resolves.toBeUndefined();
  });

  it('turns the daemon error JSON into a SparkdError with its code', async () => {
    const f = json(400, {
      error: {
        code: 'invalid_override',
        message: 'spark.driver.memory: 64g is above the maximum 8g'
      }
    });
    const e = await caught(
      requestAPI('api/sessions', { method: 'POST', body: {} }, settingsWith(f))
    );
    expect(e).toBeInstanceOf(SparkdError);
    expect(e.name).toBe('SparkdError');
    expect(e.status).toBe(400);
    expect(e.code).toBe('invalid_override');
    expect(e.message).toBe('spark.driver.memory: 64g is above the maximum 8g');
    expect(isTransient(e)).toBe(false);
  });

  it('keeps 404 codes apart', async () => {
    const f = json(404, {
      error: {
        code: 'session_not_found',
        message: 'no session for that kernel'
      }
    });
    const e = await caught(requestAPI('api/sessions/x', {}, settingsWith(f)));
    expect([e.status, e.code]).toEqual([404, 'session_not_found']);
  });

  it('a non-JSON error body gives http_error with the status', async () => {
    const f = answer(
      403,
      '<html><body><h1>403: Forbidden</h1></body></html>',
      'Forbidden'
    );
    const e = await caught(requestAPI('api/configs', {}, settingsWith(f)));
    expect(e).toBeInstanceOf(SparkdError);
    expect(e.status).toBe(403);
    expect(e.code).toBe('http_error');
    expect(e.message).toContain('403');
    expect(e.message).toContain('Forbidden');
    expect(e.message).not.toContain('<h1>');
  });

  it('JSON without an error member is not taken for a daemon error', async () => {
    const f = json(404, { message: 'Not Found' });
    const e = await caught(requestAPI('api/configs', {}, settingsWith(f)));
    expect(e.code).toBe('http_error');
    expect(e.message).toContain('Not Found');
  });

  it('a daemon 5xx error keeps its own code', async () => {
    const f = json(500, {
      error: { code: 'write_failed', message: 'cannot write the startup file' }
    });
    const e = await caught(
      requestAPI('api/select', { method: 'POST', body: {} }, settingsWith(f))
    );
    expect([e.status, e.code]).toEqual([500, 'write_failed']);
  });

  it.each([500, 502, 503, 504, 599])(
    'a proxy %p without a daemon body means the daemon is unreachable',
    async status => {
      const f = answer(status, 'Error in proxy');
      const e = await caught(requestAPI('api/configs', {}, settingsWith(f)));
      expect(e.status).toBe(status);
      expect(e.code).toBe('daemon_unreachable');
      expect(isTransient(e)).toBe(true);
    }
  );

  it('a network failure gives status 0 and network_error', async () => {
    const f: FetchMock = jest.fn(async (_req: Request) => {
      throw new TypeError('Failed to fetch');
    });
    const e = await caught(requestAPI('api/configs', {}, settingsWith(f)));
    expect(e).toBeInstanceOf(SparkdError);
    expect(e.status).toBe(0);
    expect(e.code).toBe('network_error');
    expect(e.message).toBe('Failed to fetch');
    expect(isTransient(e)).toBe(true);
  });

  it('a success that is not JSON gives invalid_response', async () => {
    const f = answer(200, 'hello');
    const e = await caught(requestAPI('api/configs', {}, settingsWith(f)));
    expect([e.status, e.code]).toEqual([200, 'invalid_response']);
  });

  it('an aborted request rejects with an AbortError, not a SparkdError', async () => {
    const ac = new AbortController();
    ac.abort();
    const f: FetchMock = jest.fn(async (_req: Request) => {
      const err = new Error('The operation was aborted.');
      err.name = 'AbortError';
      throw err;
    });
    const e = await caught(
      requestAPI(
        'api/sessions/k?wait=25&version=1',
        { signal: ac.signal },
        settingsWith(f)
      )
    );
    expect(e).not.toBeInstanceOf(SparkdError);
    expect(e.name).toBe('AbortError');
  });
});

describe('isTransient', () => {
  it('only for SparkdErrors without an answer, 5xx or 408', () => {
    expect(isTransient(new SparkdError(408, 'request_timeout', ''))).toBe(true);
    expect(isTransient(new SparkdError(409, 'session_exists', ''))).toBe(false);
    expect(isTransient(new Error('x'))).toBe(false);
  });
});
