import { ServerConnection } from '@jupyterlab/services';

import { SparkdClient, personalConfig, validConfigName } from '../api';

describe('personalConfig', () => {
  it('renames, applies overrides to conf, drops daemon-added members', () => {
    const doc = {
      name: 'local',
      display_name: 'Local (all cores)',
      master: 'local[*]',
      conf: {
        'spark.driver.memory': '1g',
        'spark.ui.showConsoleProgress': true
      },
      overridable: { 'spark.driver.memory': { type: 'memory' as const } },
      source: 'system',
      path: '/etc/sparkd/configs/local.yaml',
      default: true,
      locked: false,
      summary: { master: 'local[*]', cores: '*', memory: '1g' }
    };
    const out = personalConfig(doc, 'local-mine', {
      'spark.driver.memory': '2g'
    });
    expect(out).toEqual({
      name: 'local-mine',
      display_name: 'local-mine',
      master: 'local[*]',
      conf: {
        'spark.driver.memory': '2g',
        'spark.ui.showConsoleProgress': true
      },
      overridable: { 'spark.driver.memory': { type: 'memory' } }
    });
    // the original is untouched
    expect(doc.conf['spark.driver.memory']).toBe('1g');
    expect(doc.source).toBe('system');
  });
});

describe('validConfigName', () => {
  it.each(['local', 'a', 'my.conf-2_x', 'x'.repeat(64)])('%p is valid', n => {
    expect(validConfigName(n)).toBe(true);
  });
  it.each(['', '.', '..', 'a/b', 'a b', 'x'.repeat(65), 'é'])(
    '%p is not',
    n => {
      expect(validConfigName(n)).toBe(false);
    }
  );
});

describe('SparkdClient', () => {
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/user/alice/'
  });
  it('uses the absolute ui_path from the daemon, at its Jobs page', () => {
    const c = new SparkdClient(settings);
    expect(c.uiUrl('/user/alice/sparkd/ui/k/')).toBe(
      '/user/alice/sparkd/ui/k/jobs/'
    );
    expect(c.uiUrl('/user/alice/sparkd/ui/k/jobs/')).toBe(
      '/user/alice/sparkd/ui/k/jobs/'
    );
  });
  it('puts a relative ui_path under the proxy route', () => {
    const c = new SparkdClient(settings);
    expect(c.uiUrl('ui/k/')).toBe(
      'http://localhost:8888/user/alice/sparkd/ui/k/jobs/'
    );
  });
  it('start and stop call the sessions endpoints', async () => {
    const calls: Request[] = [];
    const fetchMock = jest.fn(async (req: Request) => {
      calls.push(req);
      return new Response(
        JSON.stringify({ kernel_id: 'k', state: 'starting', version: 1 }),
        {
          status: 202
        }
      );
    });
    const c = new SparkdClient(
      ServerConnection.makeSettings({
        baseUrl: 'http://localhost:8888/',
        fetch: fetchMock as unknown as typeof fetch
      })
    );
    await c.start('k', 'local', { a: 1 }, true);
    await c.stop('k');
    expect(calls[0].method).toBe('POST');
    expect(new URL(calls[0].url).pathname).toBe('/sparkd/api/sessions');
    expect(JSON.parse(await calls[0].text())).toEqual({
      config: 'local',
      kernel_id: 'k',
      overrides: { a: 1 },
      restart: true
    });
    expect(calls[1].method).toBe('DELETE');
    expect(new URL(calls[1].url).pathname).toBe('/sparkd/api/sessions/k');
  });
});
