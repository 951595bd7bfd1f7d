// The monitoring piece of the nginx snippets: per-sidecar locations, the allow list, and a port of its own, each
// accepted by the real nginx (`nginx -t`).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { defaultConfig, type Config } from '../../core/config.ts';
import { renderNginxSnippets, writeManagedNginxConfig } from '../../core/nginx-config.ts';
import { monitoringPaths } from '../../core/nginx-monitoring.ts';
import { testNginxConfig } from '../../runtime/nginx.ts';

function config(dir: string, change: (c: Config) => void = () => {}): Config {
  const c = defaultConfig(dir);
  c.sidecar.processes = 2;
  c.origin.root = dir;
  change(c);
  return c;
}

async function nginxAccepts(dir: string, c: Config): Promise<void> {
  const prefix = path.join(dir, 'nginx');
  writeManagedNginxConfig(c, { prefix, listen: ['127.0.13.1:8999'] });
  await testNginxConfig(prefix);
}

describe('nginx monitoring location', () => {
  it('in the download server by default: allow list, any sidecar health, each sidecar metrics; nginx -t accepts it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-mon-'));
    try {
      const c = config(dir);
      const s = renderNginxSnippets(c);
      assert.match(s.server, /location \^~ \/mirrorlane-status\/ \{\n {4}allow 127\.0\.0\.1;\n {4}allow ::1;\n {4}deny all;/);
      assert.match(s.server, /location = \/mirrorlane-status\/health \{ proxy_pass http:\/\/mirrorlane_sidecar\/health; \}/);
      assert.match(s.server, /location = \/mirrorlane-status\/sidecar-2\/metrics \{ proxy_pass http:\/\/unix:.*sidecar-2\.sock:\/metrics; \}/);
      assert.doesNotMatch(s.http, /mirrorlane-status/);
      assert.deepEqual(monitoringPaths(c).metrics, ['/mirrorlane-status/sidecar-1/metrics', '/mirrorlane-status/sidecar-2/metrics']);
      await nginxAccepts(dir, c);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on a port of its own with monitoring.listen: a server {} in the http part; nginx -t accepts it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-mon-'));
    try {
      const c = config(dir, (x) => {
        x.monitoring.listen = ['127.0.13.2:9145'];
        x.monitoring.allow = ['10.0.0.0/8', '2001:db8::/32'];
      });
      const s = renderNginxSnippets(c);
      assert.doesNotMatch(s.server, /mirrorlane-status/);
      assert.match(s.http, /server \{\n {4}listen 127\.0\.13\.2:9145;[\s\S]*allow 10\.0\.0\.0\/8;\n\s+allow 2001:db8::\/32;\n\s+deny all;/);
      await nginxAccepts(dir, c);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an allow entry that is no address or network', () => {
    const c = config(os.tmpdir(), (x) => void (x.monitoring.allow = ['localhost']));
    assert.throws(() => renderNginxSnippets(c), /monitoring\.allow: not an address or network: "localhost"/);
  });
});
