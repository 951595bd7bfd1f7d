import assert from 'node:assert/strict';
import { test } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT, defaultConfig } from '../../core/config.ts';
import { accessLogDirective, fillTemplate, renderNginxSnippets } from '../../core/nginx-config.ts';
import contract from '../../njs/contract.ts';

test('snippets carry the operator\'s paths, prefix and trusted proxies', () => {
  const c = defaultConfig('/srv/ml/var');
  c.origin.root = '/srv/www/pub';
  c.origin.urlPrefix = '/pub/';
  c.nginx.trustedProxies = ['10.1.0.0/16', '2001:db8::1'];
  const { http, server } = renderNginxSnippets(c, '/opt/ml/build/njs/mirrorlane.js');
  assert.match(http, /js_import mirrorlane from \/opt\/ml\/build\/njs\/mirrorlane\.js;/);
  assert.match(http, /server unix:\/srv\/ml\/var\/run\/sidecar\.sock max_fails=0;/);
  assert.match(http, /keepalive 128;/);
  assert.match(server, /location \^~ \/pub\/ \{/);
  assert.match(server, /alias \/srv\/www\/pub\/;/);
  assert.match(server, /set_real_ip_from 10\.1\.0\.0\/16;\nset_real_ip_from 2001:db8::1;/);
  assert.match(server, /proxy_read_timeout 500ms;/);
  assert.doesNotMatch(http + server, /\{\{/);
});

test('values that would break out of an nginx directive are refused', () => {
  const c = defaultConfig('/srv/ml/var');
  c.origin.root = '/srv/www; return 200 pwned';
  assert.throws(() => renderNginxSnippets(c), /origin\.root cannot be used in nginx config/);
  const d = defaultConfig('/srv/ml/var');
  d.nginx.trustedProxies = ['example.com'];
  assert.throws(() => renderNginxSnippets(d), /not an address or network/);
});

test('a template placeholder without a value is an error', () => {
  assert.equal(fillTemplate('a {{x}} b', { x: 1 }), 'a 1 b');
  assert.throws(() => fillTemplate('a {{y}}', {}), /no value for \{\{y\}\}/);
});

test('downloads go through the njs handler and its one subrequest location; the access log has three forms', () => {
  const { server } = renderNginxSnippets(defaultConfig('/srv/ml/var'));
  assert.match(server, /location \^~ \/ \{[^}]*js_content mirrorlane\.handle;/);
  assert.match(server, /location = \/_mirrorlane\/decide \{\s*internal;\s*proxy_pass http:\/\/mirrorlane_sidecar\/_mirrorlane\/download;/);
  // The decide location is the only way to the download endpoint (the monitoring location proxies /health, /metrics).
  assert.equal(server.match(/proxy_pass [^;]*_mirrorlane\/download/g)?.length, 1);
  assert.doesNotMatch(server, /\$mirrorlane_download/);
  assert.equal(accessLogDirective('buffered', '/p/logs/access.log'), '/p/logs/access.log combined buffer=64k flush=1s');
  assert.equal(accessLogDirective('unbuffered', '/p/logs/access.log'), '/p/logs/access.log');
  assert.equal(accessLogDirective('off', '/p/logs/access.log'), 'off');
});

test('nginx.mode proxy: the download location proxies to the sidecar, njs answers only in the fallback location', () => {
  const c = defaultConfig('/srv/ml/var');
  c.nginx.mode = 'proxy';
  const { server } = renderNginxSnippets(c);
  assert.doesNotMatch(server, /js_content mirrorlane\.handle;/);
  assert.match(server, /proxy_pass http:\/\/mirrorlane_sidecar\$mirrorlane_download;/);
  assert.match(server, /error_page 500 502 503 504 = @mirrorlane_fallback;/);
  assert.match(server, /location @mirrorlane_fallback \{[^}]*js_content mirrorlane\.fallback;/);
  // The directory listing and the origin location stay.
  assert.match(server, /alias \/srv\/ml\/var\/demo\/origin\/\$mirrorlane_dir;/);
  assert.match(server, /location \^~ \/_mirrorlane\/origin\/ \{/);
  assert.doesNotMatch(server, /\{\{/);
});

test('the internal locations come from njs/contract.ts, the one home njs and the sidecar read them from', () => {
  for (const mode of ['njs', 'proxy'] as const) {
    const c = defaultConfig('/srv/ml/var');
    c.nginx.mode = mode;
    const { server } = renderNginxSnippets(c);
    assert.ok(server.includes(`location ^~ ${contract.ORIGIN_LOCATION}/ {`), mode);
    assert.ok(server.includes(contract.SIDECAR_DOWNLOAD_PATH), mode);
    if (mode === 'njs') assert.ok(server.includes(`location = ${contract.DECIDE_LOCATION} {`));
  }
  // No template spells them out in a directive (comments may name them).
  for (const file of fs.readdirSync(path.join(PROJECT_ROOT, 'nginx'))) {
    const directives = fs.readFileSync(path.join(PROJECT_ROOT, 'nginx', file), 'utf8').split('\n').filter((l) => !/^\s*#/.test(l));
    assert.deepEqual(directives.filter((l) => l.includes('/_mirrorlane/')), [], file);
  }
});
