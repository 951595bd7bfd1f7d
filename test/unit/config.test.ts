import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig, PROJECT_ROOT } from '../../core/config.ts';
import { defaultVarDir } from '../../core/var-dir.ts';

function withFile(content: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-conf-'));
  const f = path.join(dir, 'mirrorlane.json');
  fs.writeFileSync(f, content);
  return f;
}

test('no config file: the demo on an embedded database under var/', () => {
  const c = loadConfig(null, {});
  assert.equal(c.demo, true);
  assert.equal(c.databaseUrl, null);
  assert.equal(c.configPath, null);
  // var/ of the clone, or its state folder under /var/lib/mirrorlane as root in a clone others cannot enter.
  assert.equal(c.origin.root, path.join(defaultVarDir(PROJECT_ROOT), 'demo', 'origin'));
  assert.equal(c.nginx.listen[0], '127.0.0.1:8080');
  // One sidecar per core, and the access log written in blocks.
  assert.equal(c.sidecar.processes, Math.min(64, os.availableParallelism()));
  assert.equal(c.nginx.accessLog, 'buffered');
});

test('a config file: relative paths resolve against it, demo off, DATABASE_URL wins', () => {
  const f = withFile(JSON.stringify({ origin: { root: 'tree', urlPrefix: '/pub/' }, nginx: { listen: ['127.0.0.1:9000'] }, databaseUrl: 'postgres://a@b/c' }));
  const c = loadConfig(f, { DATABASE_URL: 'postgres://x@y/z' });
  assert.equal(c.demo, false);
  assert.equal(c.origin.root, path.join(path.dirname(f), 'tree'));
  assert.equal(c.origin.urlPrefix, '/pub/');
  assert.deepEqual(c.nginx.listen, ['127.0.0.1:9000']);
  assert.equal(c.databaseUrl, 'postgres://x@y/z');
  assert.equal(loadConfig(f, {}).databaseUrl, 'postgres://a@b/c');
  assert.equal(loadConfig(null, { MIRRORLANE_CONFIG: f }).configPath, f);
});

test('config errors name the file and the setting', () => {
  const cases: [string, RegExp][] = [
    ['{"orign": {}}', /unknown setting "orign"/],
    ['{"origin": {"rot": "/x"}}', /unknown setting "origin\.rot"/],
    ['{"nginx": {"keepalive": "many"}}', /"nginx\.keepalive" must be a number/],
    ['{"nginx": {"listen": "127.0.0.1:1"}}', /"nginx\.listen" must be a list of strings/],
    ['{"origin": {"urlPrefix": "pub"}}', /urlPrefix must start and end with "\/"/],
    ['{"selection": {"distanceRange": 0.5}}', /distanceRange must be a number >= 1/],
    ['{"publicUrl": "https://x.example/path?q"}', /publicUrl must be a scheme and host/],
    ['{"fallback": {"mirrors": 3}}', /"fallback\.mirrors" must be a list of strings/],
    ['{"nginx": {"mode": "lua"}}', /nginx\.mode must be "njs" or "proxy"/],
    ['{"nginx": {"accessLog": "sometimes"}}', /nginx\.accessLog must be "buffered", "off" or "unbuffered"/],
    ['{not json', /not valid JSON/],
    ['[1]', /must hold a JSON object/],
  ];
  for (const [text, re] of cases) assert.throws(() => loadConfig(withFile(text), {}), (e: Error) => e instanceof ConfigError && re.test(e.message), text);
  assert.throws(() => loadConfig('/nonexistent/mirrorlane.json', {}), /cannot read config file .*ENOENT/);
});
