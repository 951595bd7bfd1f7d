// The public mirror list without a database: grouping, what is (not) published, the content column, escaping.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderHtmlFragment, renderHtmlPage } from '../../core/mirrorlist/html.ts';
import { escapeHtml } from '../../core/text-format.ts';
import { renderJson } from '../../core/mirrorlist/json.ts';
import { buildMirrorList, type MirrorList } from '../../core/mirrorlist/model.ts';
import { isLinkable, withoutCredentials } from '../../core/mirrorlist/public-url.ts';
import { originCoverage } from '../../core/mirrorlist/subtrees.ts';
import { escapeMarkdown, renderMarkdown, renderText } from '../../core/mirrorlist/text.ts';
import type { Mirror } from '../../core/types.ts';
import { makeMirror } from '../helpers/mirror-factory.ts';

const EVIL = '<script>alert(1)</script>';

function fixture(): Mirror[] {
  return [
    makeMirror({
      id: 1,
      identifier: 'de-uni',
      operatorName: 'Universität Beispiel',
      operatorUrl: 'https://uni.example/',
      httpUrl: 'http://de.example/pub/',
      httpsUrl: 'https://de.example/pub/',
      ftpUrl: 'ftp://anonymous:guest@de.example/pub/',
      rsyncUrl: 'rsync://sync:s3cr@t@de.example/pub/',
      adminName: 'Hidden Admin',
      adminEmail: 'hidden-admin@example.org',
      country: 'DE',
      continent: 'EU',
      ipv6: true,
    }),
    makeMirror({ id: 2, identifier: 'evil', operatorName: EVIL, operatorUrl: 'javascript:alert(2)', country: 'AT', continent: 'EU', ipv6: false, publicNotes: 'see "x" & <b>y</b>\nsecond line' }),
    makeMirror({ id: 3, identifier: 'us-1', operatorName: '', country: 'US', continent: 'NA', asOnly: true }),
    makeMirror({ id: 4, identifier: 'off', operatorName: 'Disabled One', country: 'US', continent: 'NA', enabled: false }),
    makeMirror({ id: 5, identifier: 'world', operatorName: 'Everywhere', country: '**', continent: '' }),
  ];
}

// Origin with two subtrees: /debian/ (mirrors 1, 2) and /ubuntu/ (mirror 1); a loose file held by 3 only.
const COVERAGE = originCoverage([
  { subtree: 'debian', mirrors: [1, 2] },
  { subtree: 'ubuntu', mirrors: [1] },
  { subtree: null, mirrors: [3] },
]);

function list(all = false): MirrorList {
  return buildMirrorList(fixture(), COVERAGE, { all });
}

describe('content coverage', () => {
  test('full, partial, none', () => {
    assert.deepEqual(COVERAGE.subtrees, ['/debian/', '/ubuntu/']);
    assert.deepEqual(COVERAGE.of(1), { kind: 'full' });
    assert.deepEqual(COVERAGE.of(2), { kind: 'partial', subtrees: ['/debian/'] });
    assert.deepEqual(COVERAGE.of(3), { kind: 'none' }, 'only files outside any subtree');
    assert.deepEqual(COVERAGE.of(9), { kind: 'none' });
  });

  test('an origin without subtrees: any file held is full', () => {
    const flat = originCoverage([{ subtree: null, mirrors: [1] }]);
    assert.deepEqual(flat.subtrees, []);
    assert.deepEqual(flat.of(1), { kind: 'full' });
    assert.deepEqual(flat.of(2), { kind: 'none' });
    assert.deepEqual(originCoverage([]).of(1), { kind: 'none' });
  });

  test('second-level labels', () => {
    const c = originCoverage([{ subtree: 'pub/debian', mirrors: [1] }, { subtree: 'pub/ubuntu', mirrors: [] }]);
    assert.deepEqual(c.subtrees, ['/pub/debian/', '/pub/ubuntu/']);
    assert.deepEqual(c.of(1), { kind: 'partial', subtrees: ['/pub/debian/'] });
  });
});

describe('model', () => {
  test('enabled mirrors by continent, then country, then operator; catch-all groups last', () => {
    const l = list();
    assert.deepEqual(l.continents.map((c) => c.name), ['Europe', 'North America', 'Worldwide']);
    assert.deepEqual(l.continents[0].countries.map((g) => g.name), ['Austria', 'Germany']);
    assert.deepEqual(l.continents[2].countries.map((g) => g.name), ['All countries']);
    assert.equal(l.mirrorCount, 4);
    assert.equal(l.countryCount, 3);
    assert.ok(!JSON.stringify(l).includes('Disabled One'));
    assert.equal(list(true).mirrorCount, 5);
  });

  test('credentials, unsafe links and admin data are not in the model at all', () => {
    const text = JSON.stringify(list(true));
    for (const secret of ['guest', 's3cr', 'anonymous', 'Hidden Admin', 'hidden-admin@example.org', 'javascript:']) assert.ok(!text.includes(secret), secret);
    const de = list().continents[0].countries[1].mirrors[0];
    assert.deepEqual(de.urls, { http: 'http://de.example/pub/', https: 'https://de.example/pub/', ftp: 'ftp://de.example/pub/', rsync: 'rsync://de.example/pub/' });
    const us = list().continents[1].countries[0].mirrors[0];
    assert.equal(us.name, 'us-1', 'no operator name: the identifier');
    assert.equal(us.restriction, 'only for clients in its own AS');
  });

  test('withoutCredentials and isLinkable', () => {
    assert.equal(withoutCredentials('rsync://u:p@w@h.example:873/m/'), 'rsync://h.example:873/m/');
    assert.equal(withoutCredentials('ftp://h.example/a@b/'), 'ftp://h.example/a@b/');
    assert.equal(withoutCredentials('http://h.example/'), 'http://h.example/');
    assert.ok(isLinkable('rsync://h/'));
    assert.ok(!isLinkable('javascript:alert(1)'));
    assert.ok(!isLinkable('data:text/html,x'));
  });
});

describe('html', () => {
  const page = renderHtmlPage(list());

  test('a whole page by default, a fragment on request', () => {
    assert.ok(page.startsWith('<!DOCTYPE html>\n<html lang="en">'));
    assert.match(page, /<meta charset="utf-8">/);
    const frag = renderHtmlFragment(list());
    assert.ok(frag.startsWith('<div class="mirrorlist">'));
    assert.ok(!frag.includes('<html'));
    assert.ok(page.includes(frag.trimEnd()));
  });

  test('a hostile operator name is text, not markup; a javascript: URL is no link', () => {
    assert.ok(!page.includes('<script>'));
    assert.ok(page.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(!page.includes('javascript:'));
    assert.ok(page.includes('see &quot;x&quot; &amp; &lt;b&gt;y&lt;/b&gt;<br>second line'));
    assert.equal(escapeHtml(`"'<>&`), '&quot;&#39;&lt;&gt;&amp;');
  });

  test('operator linked, protocols linked, IPv6 and content columns', () => {
    assert.match(page, /<h2>Europe<\/h2>/);
    assert.match(
      page,
      /<tr><td>Germany<\/td><td><a href="https:\/\/uni\.example\/">Universität Beispiel<\/a><\/td><td><a href="http:\/\/de\.example\/pub\/">HTTP<\/a> <a href="https:\/\/de\.example\/pub\/">HTTPS<\/a> <a href="ftp:\/\/de\.example\/pub\/">FTP<\/a> <a href="rsync:\/\/de\.example\/pub\/">rsync<\/a><\/td><td>yes<\/td><td>full<\/td><\/tr>/,
    );
    assert.match(page, /<tr><td>Austria<\/td><td>&lt;script&gt;.*<\/td><td>no<\/td><td>\/debian\/<\/td><\/tr>/);
    assert.match(page, /only for clients in its own AS/);
    assert.ok(!page.includes('hidden-admin'));
  });

  test('disabled mirrors only with --all, marked', () => {
    assert.ok(!page.includes('Disabled One'));
    assert.match(renderHtmlPage(list(true)), /<tr class="mirrorlist-disabled"><td>United States<\/td><td><a href="https:\/\/op4\.example\/">Disabled One<\/a> <small class="mirrorlist-disabled">\(disabled\)<\/small>/);
  });

  test('a hostile title is escaped too', () => {
    const l = buildMirrorList([], originCoverage([]), { title: EVIL });
    assert.ok(!renderHtmlPage(l).includes('<script>'));
  });
});

describe('text, markdown, json', () => {
  test('txt: groups, URLs without credentials, one line per value', () => {
    const txt = renderText(list());
    assert.match(txt, /\nEurope\n {2}Austria\n/);
    assert.match(txt, / {4}Universität Beispiel {2}https:\/\/uni\.example\/\n {6}HTTP {3}http:\/\/de\.example\/pub\/\n {6}HTTPS {2}https:\/\/de\.example\/pub\/\n {6}FTP {4}ftp:\/\/de\.example\/pub\/\n {6}rsync {2}rsync:\/\/de\.example\/pub\/\n {6}IPv6: yes; content: full\n/);
    assert.match(txt, /see "x" & <b>y<\/b> second line/, 'line breaks in notes flattened');
    assert.ok(!/guest|s3cr|hidden-admin/.test(txt));
  });

  test('txt: no escape sequences reach a terminal', () => {
    const m = makeMirror({ id: 7, operatorName: 'bad\x1b[31mred\x07' });
    assert.ok(!renderText(buildMirrorList([m], originCoverage([]))).includes('\x1b'));
  });

  test('md: one table per continent, HTML and Markdown syntax escaped', () => {
    const md = renderMarkdown(list());
    assert.match(md, /\n## Europe\n\n\| Country \| Operator \| Downloads \| IPv6 \| Content \|\n\|---\|---\|---\|---\|---\|\n/);
    assert.ok(md.includes('| Austria | &lt;script&gt;alert\\(1\\)&lt;/script&gt;'));
    assert.ok(!md.includes('<script>'));
    assert.match(md, /\[Universität Beispiel\]\(https:\/\/uni\.example\/\) \| \[HTTP\]\(http:\/\/de\.example\/pub\/\) \[HTTPS\]/);
    assert.equal(escapeMarkdown('a|b*c_[d](e)'), 'a\\|b\\*c\\_\\[d\\]\\(e\\)');
  });

  test('json: flat list in display order, safe to inline in a <script>', () => {
    const text = renderJson(list());
    assert.ok(!text.includes('<'));
    const doc = JSON.parse(text);
    assert.deepEqual(doc.mirrors.map((m: { identifier: string }) => m.identifier), ['evil', 'de-uni', 'us-1', 'world']);
    assert.equal(doc.mirrors[0].name, EVIL, 'the escapes decode to the original text');
    assert.equal(doc.mirrors[0].operatorUrl, null);
    assert.deepEqual(doc.mirrors[0].content, ['/debian/']);
    assert.equal(doc.mirrors[1].content, 'full');
    assert.deepEqual(doc.subtrees, ['/debian/', '/ubuntu/']);
    for (const key of ['adminName', 'adminEmail', 'health', 'score']) assert.ok(!(key in doc.mirrors[0]), key);
  });
});

test('IPv6 column: yes, no, only', () => {
  const l = buildMirrorList([makeMirror({ id: 8, ipv4: false, ipv6: true })], originCoverage([]));
  assert.match(renderHtmlFragment(l), /<td>only<\/td>/);
  assert.match(renderText(l), /IPv6: only;/);
});
