// The file page (?mirrorlist): grouped by tier, excluded mirrors with reasons, every value escaped, no private fields.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectMirrors } from '../../core/selection.ts';
import type { ClientLocation, FileRow } from '../../core/types.ts';
import { escapeHtml, formatBytes } from '../../core/text-format.ts';
import { renderFilePageHtml, type FilePageInput } from '../../sidecar/render-file-page.ts';
import { makeMirror } from '../helpers/mirror-factory.ts';

const EVIL = `<script>alert("x")</script>`;
const file: FileRow = {
  id: 1,
  path: '/pub/<b>&x.iso',
  size: 3 * 1024 * 1024,
  mtime: 1767225600,
  sha256: 'ab'.repeat(32),
  sha1: null,
  md5: 'cd'.repeat(16),
  mirrors: [],
};
const client: ClientLocation = { ip: '192.0.2.10', family: 4, country: 'DE', continent: 'EU', lat: 52.52, lng: 13.4, asn: 64500, asOrg: '<i>Org</i>', city: 'Berlin' };
const secrets = { adminName: 'Admin Secret', adminEmail: 'secret-admin@example.org', publicNotes: 'private note', rsyncUrl: 'rsync://user:pw@m.example/pub/', ftpUrl: 'ftp://user:pw@m.example/' };
const mirrors = [
  makeMirror({ id: 1, identifier: 'same-as', country: 'NL', continent: 'EU', asn: 64500, lat: 52.37, lng: 4.9, operatorName: 'AS mirror', ...secrets }),
  makeMirror({ id: 2, identifier: 'de-1', country: 'DE', lat: 50.1, lng: 8.7, operatorName: EVIL, operatorUrl: 'javascript:alert(1)', ...secrets }),
  makeMirror({ id: 3, identifier: '"><img src=x onerror=alert(1)>', country: 'FR', lat: 48.86, lng: 2.35, operatorName: '' }),
  makeMirror({ id: 4, identifier: 'us-1', country: 'US', continent: 'NA', lat: 40.7, lng: -74, operatorName: 'US & Co', operatorUrl: 'https://us.example/' }),
  makeMirror({ id: 5, identifier: 'down-1', health: 'down', healthReason: '<em>timeout</em>' }),
  makeMirror({ id: 6, identifier: 'cdn', country: '**', continent: 'EU', lat: null, lng: null, operatorName: 'Everywhere CDN' }),
];

function page(over: Partial<FilePageInput> = {}): string {
  const selection = selectMirrors({ path: file.path, size: file.size, holders: mirrors, client, scheme: 'http', options: { distanceRange: 1.5 }, random: () => 0 });
  return renderFilePageHtml({ file, client, overridden: false, selection, localDelivery: null, notShown: 0, attribution: ['Data <by> someone'], ...over });
}

test('file page: every value from data is escaped, no script, no external asset, no javascript: link', () => {
  const html = page();
  assert.doesNotMatch(html, /<script/i);
  assert.match(html, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/);
  assert.doesNotMatch(html, /<img/i);
  assert.match(html, /&quot;&gt;&lt;img src=x onerror=alert\(1\)&gt;/);
  assert.doesNotMatch(html, /href="javascript:/i);
  assert.doesNotMatch(html, /<em>|<i>|<b>/);
  assert.match(html, /&lt;em&gt;timeout&lt;\/em&gt;/);
  assert.match(html, /<h1>\/?&lt;b&gt;&amp;x\.iso<\/h1>/);
  assert.match(html, /Data &lt;by&gt; someone/);
  // Self-contained: no scripts, stylesheets, images or fonts from anywhere.
  assert.doesNotMatch(html, /<(link|img|iframe|object|embed|script)\b|<[^>]*\ssrc=|@import|url\(/i);
});

test('file page: no admin names, e-mail, notes or rsync/ftp URLs', () => {
  const html = page();
  for (const s of Object.values(secrets)) assert.ok(!html.includes(s) && !html.includes(escapeHtml(s)), s);
  assert.doesNotMatch(html, /rsync:|ftp:/);
});

test('file page: tiers in order with their mirrors, the excluded ones with reasons, the file facts', () => {
  const html = page();
  const headings = [...html.matchAll(/<h3>(.*?) <small>\((\d+)\)<\/small><\/h3>/g)].map((m) => `${m[1]} ${m[2]}`);
  assert.deepEqual(headings, ['Same network operator (AS64500) 1', 'Same country: Germany 2', 'Same continent: Europe 1', 'Elsewhere 1']);
  assert.match(html, /<h2>Mirrors not used for this request<\/h2>/);
  assert.match(html, /down-1<\/small><\/td><td>down: &lt;em&gt;timeout/);
  assert.match(html, /3\.0 MiB <small>\(3145728 bytes\)<\/small>/);
  assert.match(html, /2026-01-01 00:00:00 UTC/);
  assert.match(html, /<code>abababab/);
  assert.doesNotMatch(html, /SHA-1/, 'unknown hashes are left out');
  assert.match(html, /href="\.\/%3Cb%3E&amp;x\.iso\.meta4"/);
  assert.match(html, /href="\.\/%3Cb%3E&amp;x\.iso\.metalink"/);
  assert.match(html, /Berlin/);
  assert.match(html, /AS64500 \(&lt;i&gt;Org&lt;\/i&gt;\)/);
  assert.match(html, /<a href="https:\/\/us\.example\/" rel="nofollow noopener">operator<\/a>/);
  // The chosen mirror (random 0: the first near one of the winning tier) carries the badge.
  assert.match(html, /AS mirror<\/a> <span class="badge">picked this time<\/span>/);
  assert.match(html, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
});

test('file page: local delivery, overridden location and mirrors cut from the list are said so', () => {
  const html = page({ localDelivery: 'smaller than 4096 bytes', overridden: true, notShown: 3 });
  assert.match(html, /served by this site itself: smaller than 4096 bytes/);
  assert.match(html, /Location set by the \?country=/);
  assert.match(html, /3 more mirror\(s\) farther away are not listed/);
  const none = renderFilePageHtml({ file, client, overridden: false, selection: { chosen: null, ranked: [], excluded: [] }, localDelivery: null, notShown: 0, attribution: [] });
  assert.match(none, /No mirror can serve this file to you/);
});

test('formatBytes', () => {
  assert.equal(formatBytes(600), '600 B');
  assert.equal(formatBytes(2048), '2.0 KiB');
  assert.equal(formatBytes(5 * 1024 ** 3), '5.0 GiB');
  assert.equal(formatBytes(300 * 1024 ** 2), '300 MiB');
  assert.equal(formatBytes(null), '');
});
