// An operator's tree published under a URL prefix (origin.urlPrefix "/download/"): the file table keeps paths
// below the origin root, nginx maps them, directories and local delivery still work.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from '../helpers/http.ts';
import { startStack, withLogs, type TestStack } from '../helpers/stack.ts';

let stack: TestStack;
const S = () => stack;
const DE = { 'X-Forwarded-For': '192.0.2.10' };

describe('a tree published under /download/', () => {
  before(async () => {
    stack = await startStack({ configure: (c) => void (c.origin.urlPrefix = '/download/') });
  });
  after(async () => {
    await stack?.stop();
  });

  test('a download under the prefix redirects to the mirror path without the prefix', withLogs(S, async () => {
    const r = await request(`${stack.base}/download/pub/mirrorlane-demo-1.0.tar.gz`, { headers: DE });
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, `http://127.0.0.2:${stack.mirrorPort}/pub/mirrorlane-demo-1.0.tar.gz`);
    const json = JSON.parse((await request(`${stack.base}/download/pub/mirrorlane-demo-1.0.tar.gz?json`, { headers: DE })).body);
    assert.equal(json.file.path, '/pub/mirrorlane-demo-1.0.tar.gz');
  }));

  test('the mirror list page shows the path clients use, with the prefix', withLogs(S, async () => {
    const page = await request(`${stack.base}/download/pub/mirrorlane-demo-1.0.tar.gz?mirrorlist`, { headers: DE });
    assert.equal(page.status, 200);
    assert.match(page.body, /<dt>Path<\/dt><dd><code>\/download\/pub\/mirrorlane-demo-1\.0\.tar\.gz<\/code>/);
  }));

  test('local delivery, directory listing and the bare directory redirect keep the prefix', withLogs(S, async () => {
    const local = await request(`${stack.base}/download/pub/origin-only.txt`, { headers: DE });
    assert.equal(local.status, 200);
    assert.match(local.body, /^Mirrorlane demo file \/pub\/origin-only\.txt/);
    const listing = await request(`${stack.base}/download/pub/`, { headers: DE });
    assert.equal(listing.status, 200);
    assert.match(listing.body, /Index of \/download\/pub\//);
    const bare = await request(`${stack.base}/download/pub`, { headers: DE });
    assert.equal(bare.status, 301);
    assert.match(String(bare.headers.location), /^(http:\/\/127\.0\.0\.1:\d+)?\/download\/pub\/$/);
    assert.equal((await request(`${stack.base}/download/pub/nothing.iso`, { headers: DE })).status, 404);
  }));

  test('outside the prefix, Mirrorlane answers nothing', withLogs(S, async () => {
    const r = await request(`${stack.base}/pub/mirrorlane-demo-1.0.tar.gz`, { headers: DE });
    assert.equal(r.status, 404);
    assert.equal(r.headers['x-mirrorlane-mirror'], undefined);
  }));
});
