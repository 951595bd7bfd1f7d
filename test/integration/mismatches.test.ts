// "Every answer says why": a real mirror scan (HTTP index of the demo mirrors' nginx) records copies it did not
// count, and ?json, the mirror list page and `mirrorlane file ls` show them as exclusions with their reason.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { scanOrigin } from '../../core/scan/origin-scan.ts';
import { deterministicBytes } from '../../runtime/demo.ts';
import { runOk } from '../helpers/cli-run.ts';
import { request } from '../helpers/http.ts';
import { startStack, withLogs, type TestStack } from '../helpers/stack.ts';
import { waitFor } from '../helpers/wait.ts';

let stack: TestStack;
const S = () => stack;
const FILE = '/pub/why/file.bin';
const CONTENT = deterministicBytes('why', 50_000);
const MTIME = new Date('2026-06-01T00:00:00Z');
const FROM_US = '198.51.100.10';

function put(identifier: string | null, content: Buffer, mtime: Date): void {
  const root = identifier === null ? stack.config.origin.root : path.join(stack.dir, 'demo', 'mirrors', identifier);
  const file = path.join(root, FILE);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  fs.writeFileSync(file, content, { mode: 0o644 });
  fs.utimesSync(file, mtime, mtime);
}

const json = async () => JSON.parse((await request(`${stack.base}${FILE}?json`, { headers: { 'X-Forwarded-For': FROM_US } })).body);
const scan = (identifier: string) => runOk(['scan', identifier], stack.env);

describe('mismatched copies are shown as exclusions with their reason', () => {
  before(async () => {
    stack = await startStack();
    put(null, CONTENT, MTIME);
    put('demo-us', CONTENT, MTIME);
    put('demo-jp', CONTENT.subarray(1), MTIME);
    put('demo-de', CONTENT, new Date(MTIME.getTime() - 86_400_000));
    await scanOrigin(stack.pool, { root: stack.config.origin.root });
    for (const m of ['demo-de', 'demo-us', 'demo-jp']) await scan(m);
    await waitFor(async () => (await json()).mirrors.length === 1, 'scan results visible');
  });
  after(async () => {
    await stack?.stop();
  });

  test('?json: the holder ranked, the wrong copies excluded with "file size differs" and "older copy"', withLogs(S, async () => {
    const a = await json();
    assert.deepEqual(a.mirrors.map((m: { identifier: string }) => m.identifier), ['demo-us']);
    assert.deepEqual(
      a.excluded.map((e: { identifier: string; reason: string }) => [e.identifier, e.reason]).sort(),
      [['demo-de', 'older copy'], ['demo-jp', 'file size differs']],
    );
    // Not on the redirect path: a download still goes to the holder.
    const r = await request(`${stack.base}${FILE}`, { headers: { 'X-Forwarded-For': FROM_US } });
    assert.equal(r.status, 302);
    assert.match(r.headers.location ?? '', /^http:\/\/127\.0\.0\.3:/);
  }));

  test('the mirror list page shows them under the mirrors not used', withLogs(S, async () => {
    const page = (await request(`${stack.base}${FILE}?mirrorlist`, { headers: { 'X-Forwarded-For': FROM_US } })).body;
    const notUsed = page.slice(page.indexOf('Mirrors not used'));
    assert.ok(notUsed.length > 0 && page.includes('Mirrors not used'), 'the section is there');
    assert.match(notUsed, /demo-jp<\/small><\/td><td>file size differs/);
    assert.match(notUsed, /demo-de<\/small><\/td><td>older copy/);
  }));

  test('file ls shows them, and a rescan after the mirror fixed its copy clears them', withLogs(S, async () => {
    const listed = JSON.parse(await runOk(['file', 'ls', '/pub/why/*', '--json'], stack.env));
    assert.equal(listed.length, 1);
    assert.deepEqual(listed[0].mirrors, ['demo-us']);
    assert.deepEqual(listed[0].excluded, [
      { identifier: 'demo-de', reason: 'older copy' },
      { identifier: 'demo-jp', reason: 'file size differs' },
    ]);
    const table = await runOk(['file', 'ls', '/pub/why/*'], stack.env);
    assert.match(table, /demo-de \(older copy\), demo-jp \(file size differs\)/);

    put('demo-jp', CONTENT, MTIME);
    await scan('demo-jp');
    await waitFor(async () => (await json()).mirrors.length === 2, 'rescan visible');
    const a = await json();
    assert.deepEqual(a.excluded.map((e: { identifier: string }) => e.identifier), ['demo-de']);
    const again = JSON.parse(await runOk(['file', 'ls', '/pub/why/*', '--json'], stack.env));
    assert.deepEqual(again[0].excluded, [{ identifier: 'demo-de', reason: 'older copy' }]);
  }));
});
