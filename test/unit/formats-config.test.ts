// The formats settings: defaults, apt lists as an operator-chosen record of strings, and their checks.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { ConfigError, loadConfig } from '../../core/config.ts';

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function withFile(content: unknown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-conf-'));
  dirs.push(dir);
  const f = path.join(dir, 'mirrorlane.json');
  fs.writeFileSync(f, JSON.stringify(content));
  return f;
}

test('formats: defaults are 5 Link headers, no apt lists, no stamps', () => {
  assert.deepEqual(loadConfig(null, {}).formats, { linkHeaders: 5, aptLists: {}, stampSecret: '', torrentMinSize: 4 * 1024 * 1024, trackers: [], metalinkTorrent: false, zsyncMinSize: 4 * 1024 * 1024 });
});

test('formats: settings from a file', () => {
  const formats = { linkHeaders: 3, aptLists: { '/debian.list': '/debian/', '/mirrors/ubuntu.txt': '/ubuntu/' }, stampSecret: 'k',
    torrentMinSize: 0, trackers: ['udp://tracker.example.org:6969/announce', 'https://t.example.org/announce'], metalinkTorrent: true, zsyncMinSize: null };
  assert.deepEqual(loadConfig(withFile({ formats }), {}).formats, formats);
});

test('formats: bad settings are named', () => {
  const cases: [unknown, RegExp][] = [
    [{ aptLists: { '/debian.list': 3 } }, /"formats\.aptLists" must be an object of strings/],
    [{ aptLists: ['/debian.list'] }, /"formats\.aptLists" must be an object of strings/],
    [{ aptLists: { 'debian.list': '/debian/' } }, /"debian\.list" must be an origin path/],
    [{ aptLists: { '/debian/': '/debian/' } }, /must be an origin path/],
    [{ aptLists: { '/debian.list': 'debian' } }, /subtree "debian" of "\/debian\.list" must start and end with "\/"/],
    [{ aptLists: { '/debian.list': '/../etc/' } }, /must start and end with "\/"/],
    [{ linkHeaders: -1 }, /formats\.linkHeaders must be a whole number >= 0/],
    [{ linkHeaders: 1.5 }, /formats\.linkHeaders must be a whole number >= 0/],
    [{ stampTtl: 1 }, /unknown setting "formats\.stampTtl"/],
    [{ torrentMinSize: -1 }, /formats\.torrentMinSize must be a whole number of bytes >= 0/],
    [{ trackers: ['tracker.example.org'] }, /formats\.trackers: "tracker\.example\.org" is no tracker URL/],
    [{ trackers: 'udp://t.example.org:1/announce' }, /"formats\.trackers" must be a list of strings/],
  ];
  for (const [formats, re] of cases) {
    assert.throws(() => loadConfig(withFile({ formats }), {}), (e: Error) => e instanceof ConfigError && re.test(e.message), JSON.stringify(formats));
  }
});
