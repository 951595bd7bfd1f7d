// The scanners' pure parts: rsync --list-only lines, FTP LIST times and lines, the timezone-offset finder, HTTP
// directory indexes of nginx (json, xml, html), Apache (fancy <pre>, fancy table, plain) and lighttpd, the crawler's
// link filter, and the refinement policy. The index samples are written here in the shape those servers produce.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ftpTarget, listReplyFailure, parseFtpListStrict, parseFtpListTime, redactFtpUrl } from '../../core/scan/ftp.ts';
import { childOf } from '../../core/scan/http-crawl.ts';
import {
  detectIndexFormat,
  findIndexDate,
  IndexParseError,
  parseHtmlIndex,
  parseIndexPage,
  parseIndexSize,
  parseNginxJsonIndex,
  parseNginxXmlIndex,
  type IndexEntry,
} from '../../core/scan/http-index.ts';
import { isExact, mayBeCurrent, refineListing, type RoughFile } from '../../core/scan/refine.ts';
import { parseRsyncListLine, redactRsyncUrl, rsyncTarget } from '../../core/scan/rsync.ts';
import { detectTzOffset, findTzOffsetMs, spreadSample, type MtimePair } from '../../core/scan/tz-offset.ts';

const utc = (s: string) => Date.parse(s) / 1000;

describe('rsync --list-only lines', () => {
  it('reads a regular file', () => {
    assert.deepEqual(parseRsyncListLine('-rw-r--r--         123456 2023/06/07 08:09:10 sub/b.tar.gz'), {
      kind: 'file',
      path: 'sub/b.tar.gz',
      size: 123456,
      mtime: utc('2023-06-07T08:09:10Z'),
    });
  });

  it('keeps spaces in names: inner, doubled, leading', () => {
    assert.equal((parseRsyncListLine('-rw-r--r--              3 2026/11/23 18:06:08 with space/b c.txt') as { path: string }).path, 'with space/b c.txt');
    assert.equal((parseRsyncListLine('-rw-r--r--              2 2026/11/23 18:06:08 sub/ weird  name.txt') as { path: string }).path, 'sub/ weird  name.txt');
    assert.equal((parseRsyncListLine('-rw-r--r--              2 2026/11/23 18:06:08  lead') as { path: string }).path, ' lead');
  });

  it('undoes \\#ooo escapes into UTF-8, and keeps a literal backslash', () => {
    assert.equal((parseRsyncListLine('-rw-r--r--              0 2026/11/23 18:06:16 caf\\#303\\#251.txt') as { path: string }).path, 'café.txt');
    assert.equal((parseRsyncListLine('-rw-r--r--              0 2026/11/23 18:06:16 a\\#134#123') as { path: string }).path, 'a\\#123');
    assert.equal((parseRsyncListLine('-rw-r--r--              0 2026/11/23 18:06:16 back\\#slash') as { path: string }).path, 'back\\#slash');
    // Raw UTF-8 bytes, as they come off the pipe read as latin1.
    const raw = Buffer.from('-rw-r--r--              0 2026/11/23 18:06:16 ñ.txt', 'utf8').toString('latin1');
    assert.equal((parseRsyncListLine(raw) as { path: string }).path, 'ñ.txt');
  });

  it('reports directories, symlinks, devices and FIFOs as other', () => {
    for (const [line, type] of [
      ['drwxr-xr-x           4096 2026/11/23 18:06:08 .', 'd'],
      ['lrwxrwxrwx              5 2026/11/23 18:06:08 link', 'l'],
      ['prw-r--r--              0 2026/11/23 18:06:08 fifo', 'p'],
      ['crw-rw-rw-              0 2026/11/23 18:06:08 null', 'c'],
      ['srwxr-xr-x              0 2026/11/23 18:06:08 sock', 's'],
    ]) {
      const e = parseRsyncListLine(line);
      assert.equal(e.kind, 'other', line);
      assert.equal((e as { type: string }).type, type);
    }
  });

  it('reads sizes wider than the column and setuid/sticky bits', () => {
    const e = parseRsyncListLine('-rwsr-xr-t  5000000000000 2024/02/29 23:59:59 huge.img');
    assert.equal(e.kind, 'file');
    assert.equal((e as { size: number }).size, 5_000_000_000_000);
    assert.equal((e as { mtime: number }).mtime, utc('2024-02-29T23:59:59Z'));
  });

  it('refuses malformed lines, naming them', () => {
    for (const line of [
      '-rw-r--r--      1,234,567 2023/06/07 08:09:10 with-thousands',
      'rsync: [sender] change_dir "nonexist" (in mod) failed',
      '-rw-r--r--         123 2023-06-07 08:09:10 other-date',
      '',
      '-rw-r--r--         123 2023/06/07 08:09:10',
    ]) {
      assert.throws(() => parseRsyncListLine(line), (e: Error) => e.message.includes(JSON.stringify(line)), line);
    }
  });

  it('splits the password off the URL and appends the subtree', () => {
    assert.deepEqual(rsyncTarget('rsync://alice:s%3Acret@127.0.0.1:8873/mod/pub/', '/iso/'), {
      url: 'rsync://alice@127.0.0.1:8873/mod/pub/iso/',
      password: 's:cret',
    });
    assert.deepEqual(rsyncTarget('rsync://mirror.example/mod'), { url: 'rsync://mirror.example/mod/', password: '' });
    assert.equal(redactRsyncUrl('rsync://alice:secret@h/mod/'), 'rsync://alice:***@h/mod/');
    assert.throws(() => rsyncTarget('http://h/mod/'), /not an rsync URL/);
  });
});

describe('FTP LIST', () => {
  const now = utc('2026-11-23T18:00:00Z');

  it('reads "Jun 07 2023" as that day', () => {
    assert.deepEqual(parseFtpListTime('Jun 07 2023', now), { start: utc('2023-06-07T00:00:00Z'), span: 86400 });
    assert.deepEqual(parseFtpListTime('Jun  7  2023', now), { start: utc('2023-06-07T00:00:00Z'), span: 86400 });
  });

  it('reads "Nov 20 05:08" as a minute in the last six months', () => {
    assert.deepEqual(parseFtpListTime('Nov 20 05:08', now), { start: utc('2026-11-20T05:08:00Z'), span: 60 });
    // December cannot be this year's yet: last year's.
    assert.deepEqual(parseFtpListTime('Dec 30 10:00', now), { start: utc('2025-12-30T10:00:00Z'), span: 60 });
    // A server 14 h ahead may show tomorrow's date: still this year.
    assert.deepEqual(parseFtpListTime('Nov 24 07:00', now), { start: utc('2026-11-24T07:00:00Z'), span: 60 });
  });

  it('reads DOS listings and refuses the rest', () => {
    assert.deepEqual(parseFtpListTime('06-07-23 08:09PM', now), { start: utc('2023-06-07T20:09:00Z'), span: 60 });
    assert.deepEqual(parseFtpListTime('12-31-1999 12:00AM', now), { start: utc('1999-12-31T00:00:00Z'), span: 60 });
    assert.equal(parseFtpListTime('Foo 07 2023', now), null);
    assert.equal(parseFtpListTime('2023-06-07', now), null);
  });

  it('parses vsftpd lines strictly: names with spaces, no dot entries, devices skipped, junk refused', () => {
    const list = [
      'drwxr-xr-x    3 0        0            4096 Nov 23 18:06 pub',
      '-rw-r--r--    1 0        0               6 Jun 07  2023 a.txt',
      '-rw-r--r--    1 0        0               2 Nov 20 05:08 with space.txt',
      'lrwxrwxrwx    1 0        0               5 Nov 20 05:08 link -> a.txt',
      'crw-rw-rw-    1 0        0            1, 3 Nov 20 05:08 null',
      'drwxr-xr-x    2 0        0            4096 Nov 23 18:06 .',
      '',
    ].join('\r\n');
    const files = parseFtpListStrict(list);
    assert.deepEqual(files.map((f) => [f.name, f.type, f.size]), [
      ['pub', 2, 4096],
      ['a.txt', 1, 6],
      ['with space.txt', 1, 2],
      ['link', 3, 5],
    ]);
    assert.equal(files[1].rawModifiedAt, 'Jun 07 2023');
    assert.throws(() => parseFtpListStrict('total 12\r\n-rw-r--r--    1 0  0  6 Jun 07  2023 ok\r\nthis is not a listing line\r\n'), /unreadable LIST line: "this is not a listing line"/);
  });

  it('spots a LIST reply that admits failure', () => {
    assert.equal(listReplyFailure(['150 Here comes the directory listing.\r\n226 Transfer done (but failed to open directory).\r\n']), '226 Transfer done (but failed to open directory).');
    assert.equal(listReplyFailure(['150 Here comes the directory listing.', '226 Directory send OK.']), null);
    assert.equal(listReplyFailure(['226 Transfer complete']), null);
  });

  it('reads FTP URLs relative to the login directory, anonymous by default', () => {
    assert.deepEqual(ftpTarget('ftp://127.0.0.1:2121/pub/my%20dir/'), { host: '127.0.0.1', port: 2121, user: 'anonymous', password: 'mirrorlane@', segments: ['pub', 'my dir'] });
    assert.deepEqual(ftpTarget('ftp://bob:p%40ss@ftp.example/'), { host: 'ftp.example', port: 21, user: 'bob', password: 'p@ss', segments: [] });
    assert.equal(redactFtpUrl('ftp://bob:secret@ftp.example/x/'), 'ftp://bob:***@ftp.example/x/');
  });
});

describe('timezone offset', () => {
  const base = utc('2026-01-01T00:00:00Z');
  const pairs = (n: number, offsetS: number, jitter = 0): MtimePair[] =>
    Array.from({ length: n }, (_, i) => ({ origin: base + i * 977, mirror: base + i * 977 + offsetS + (i % 2 ? jitter : -jitter) }));

  it('finds a whole-hour and a half-hour offset, within a second of rounding', () => {
    assert.equal(findTzOffsetMs(pairs(100, 7200)), 7_200_000);
    assert.equal(findTzOffsetMs(pairs(50, -(5 * 3600 + 30 * 60), 1)), -19_800_000);
    assert.equal(findTzOffsetMs(pairs(20, 45 * 60)), 2_700_000);
  });

  it('needs 90 % of the sample', () => {
    const ninety = [...pairs(90, 3600), ...pairs(10, 12345)];
    assert.equal(findTzOffsetMs(ninety), 3_600_000);
    const eightyNine = [...pairs(89, 3600), ...pairs(11, 12345)];
    assert.equal(findTzOffsetMs(eightyNine), 0);
    // Outdated copies (older by days) count against the offset.
    assert.equal(findTzOffsetMs([...pairs(85, 3600), ...pairs(15, -86400 * 3 - 17)]), 0);
  });

  it('answers 0 without an offset, for too few pairs, off-grid or too large differences', () => {
    assert.equal(findTzOffsetMs(pairs(100, 0)), 0);
    assert.equal(findTzOffsetMs(pairs(100, 0, 1)), 0);
    assert.equal(findTzOffsetMs([]), 0);
    assert.equal(findTzOffsetMs(pairs(2, 3600)), 0);
    assert.equal(findTzOffsetMs(pairs(3, 3600)), 3_600_000);
    assert.equal(findTzOffsetMs(pairs(100, 3600 + 5)), 0);
    assert.equal(findTzOffsetMs(pairs(100, 15 * 3600)), 0);
    assert.equal(findTzOffsetMs(pairs(100, 14 * 3600)), 50_400_000);
  });

  it('tells undecided apart from 0', () => {
    assert.deepEqual(detectTzOffset(pairs(100, 0)), { offsetMs: 0, agreeing: 100, pairs: 100 });
    assert.deepEqual(detectTzOffset(pairs(2, 3600)), { offsetMs: null, agreeing: 0, pairs: 2 });
    // Half the mirror synced, half not: no majority, keep what was known.
    assert.equal(detectTzOffset([...pairs(50, 0), ...pairs(50, -86400 * 2 - 77)]).offsetMs, null);
    assert.equal(detectTzOffset([...pairs(95, -3600), ...pairs(5, 0)]).offsetMs, -3_600_000);
    assert.equal(Object.is(detectTzOffset(pairs(10, 0, 1)).offsetMs, 0), true);
  });

  it('samples evenly across the list', () => {
    const items = Array.from({ length: 1000 }, (_, i) => i);
    const s = spreadSample(items, 100);
    assert.equal(s.length, 100);
    assert.equal(s[0], 0);
    assert.equal(s[99], 990);
    assert.deepEqual(spreadSample([1, 2, 3], 100), [1, 2, 3]);
  });
});

// ---- HTTP indexes. Samples in the shape each server writes them.

const NGINX_JSON = `[
{ "name":"sub dir", "type":"directory", "mtime":"Mon, 23 Nov 2026 18:07:39 GMT" },
{ "name":"a.txt", "type":"file", "mtime":"Wed, 07 Jun 2023 08:09:10 GMT", "size":6 },
{ "name":"big.iso", "type":"file", "mtime":"Mon, 23 Nov 2026 18:07:39 GMT", "size":3000000000 },
{ "name":"w&e <x>%20\\"q\\".txt", "type":"file", "mtime":"Fri, 20 Nov 2026 05:08:33 GMT", "size":2 },
{ "name":"sock", "type":"other", "mtime":"Fri, 20 Nov 2026 05:08:33 GMT" }
]
`;

const NGINX_XML = `<?xml version="1.0"?>
<list>
<directory mtime="2026-11-23T18:07:39Z">sub dir</directory>
<file mtime="2023-06-07T08:09:10Z" size="6">a.txt</file>
<file mtime="2026-11-20T05:08:33Z" size="2">w&amp;e &lt;x&gt;%20é.txt</file>
<other mtime="2026-11-20T05:08:33Z">sock</other>
</list>
`;

const NGINX_HTML = `<html>
<head><title>Index of /pub/</title></head>
<body>
<h1>Index of /pub/</h1><hr><pre><a href="../">../</a>
<a href="sub%20dir/">sub dir/</a>                                           23-Nov-2026 18:07                   -
<a href="a.txt">a.txt</a>                                              07-Jun-2023 08:09                   6
<a href="big.iso">big.iso</a>                                            23-Nov-2026 18:07          3000000000
<a href="a-very-long-file-name-that-nginx-cuts-off-in-the-text.tar.gz">a-very-long-file-name-that-nginx-cuts-off-in-the..&gt;</a> 20-Nov-2026 05:08               12345
<a href="w%26e%20%3Cx%3E%2520%C3%A9.txt">w&amp;e &lt;x&gt;%20é.txt</a>                                   20-Nov-2026 05:08                   2
</pre><hr></body>
</html>
`;

const APACHE_FANCY_PRE = `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">
<html>
 <head>
  <title>Index of /pub</title>
 </head>
 <body>
<h1>Index of /pub</h1>
<pre><img src="/icons/blank.gif" alt="Icon "> <a href="?C=N;O=D">Name</a>                    <a href="?C=M;O=A">Last modified</a>      <a href="?C=S;O=A">Size</a>  <a href="?C=D;O=A">Description</a><hr><img src="/icons/back.gif" alt="[PARENTDIR]"> <a href="/">Parent Directory</a>                             -   
<img src="/icons/folder.gif" alt="[DIR]"> <a href="sub%20dir/">sub dir/</a>                2026-11-23 18:07    -   
<img src="/icons/text.gif" alt="[TXT]"> <a href="a.txt">a.txt</a>                   2023-06-07 08:09    6   
<img src="/icons/unknown.gif" alt="[   ]"> <a href="big.iso">big.iso</a>                 2026-11-23 18:07  2.8G  
<img src="/icons/compressed.gif" alt="[   ]"> <a href="src.tar.gz">src.tar.gz</a>              2026-11-20 05:08   17M  Sources
<hr></pre>
<address>Apache/2.4.57 (Debian) Server at mirror.example Port 80</address>
</body></html>
`;

const APACHE_FANCY_TABLE = `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">
<html>
 <head>
  <title>Index of /pub</title>
 </head>
 <body>
<h1>Index of /pub</h1>
  <table>
   <tr><th valign="top"><img src="/icons/blank.gif" alt="[ICO]"></th><th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th><th><a href="?C=S;O=A">Size</a></th><th><a href="?C=D;O=A">Description</a></th></tr>
   <tr><th colspan="5"><hr></th></tr>
<tr><td valign="top"><img src="/icons/back.gif" alt="[PARENTDIR]"></td><td><a href="/">Parent Directory</a></td><td>&nbsp;</td><td align="right">  - </td><td>&nbsp;</td></tr>
<tr><td valign="top"><img src="/icons/folder.gif" alt="[DIR]"></td><td><a href="sub%20dir/">sub dir/</a></td><td align="right">2026-11-23 18:07  </td><td align="right">  - </td><td>&nbsp;</td></tr>
<tr><td valign="top"><a href="a.txt"><img src="/icons/text.gif" alt="[TXT]"></a></td><td><a href="a.txt">a.txt</a></td><td align="right">2023-06-07 08:09  </td><td align="right">  6 </td><td>&nbsp;</td></tr>
<tr><td valign="top"><img src="/icons/unknown.gif" alt="[   ]"></td><td><a href="big.iso">big.iso</a></td><td align="right">2026-11-23 18:07  </td><td align="right">2.8G</td><td>&nbsp;</td></tr>
   <tr><th colspan="5"><hr></th></tr>
</table>
<address>Apache/2.4.57 (Debian) Server at mirror.example Port 80</address>
</body></html>
`;

const APACHE_PLAIN = `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">
<html>
 <head>
  <title>Index of /pub</title>
 </head>
 <body>
<h1>Index of /pub</h1>
<ul><li><a href="/"> Parent Directory</a></li>
<li><a href="sub%20dir/"> sub dir/</a></li>
<li><a href="a.txt"> a.txt</a></li>
</ul>
</body></html>
`;

const LIGHTTPD = `<!DOCTYPE html>
<html>
<head>
<meta charset="UTF-8">
<title>Index of /pub/</title>
<style type="text/css">
a, a:active {text-decoration: none; color: blue;}
</style>
</head>
<body>
<h2>Index of /pub/</h2>
<div class="list">
<table summary="Directory Listing" cellpadding="0" cellspacing="0">
<thead><tr><th class="n">Name</th><th class="m">Last Modified</th><th class="s">Size</th><th class="t">Type</th></tr></thead>
<tbody>
<tr class="d"><td class="n"><a href="../">..</a>/</td><td class="m">&nbsp;</td><td class="s">- &nbsp;</td><td class="t">Directory</td></tr>
<tr class="d"><td class="n"><a href="sub%20dir/">sub dir</a>/</td><td class="m">2026-Nov-23 18:07:39</td><td class="s">- &nbsp;</td><td class="t">Directory</td></tr>
<tr><td class="n"><a href="a.txt">a.txt</a></td><td class="m">2023-Jun-07 08:09:10</td><td class="s">0.1K</td><td class="t">text/plain;charset=utf-8</td></tr>
<tr><td class="n"><a href="big.iso">big.iso</a></td><td class="m">2026-Nov-23 18:07:39</td><td class="s">2.7G</td><td class="t">application/octet-stream</td></tr>
</tbody>
</table>
</div>
<div class="foot">lighttpd/1.4.69</div>
</body>
</html>
`;

function byHref(entries: IndexEntry[]): Record<string, IndexEntry> {
  return Object.fromEntries(entries.map((e) => [e.href, e]));
}

describe('nginx autoindex json and xml', () => {
  it('reads json: exact sizes and seconds, directories, names with any character, no "other"', () => {
    const e = parseNginxJsonIndex(NGINX_JSON);
    assert.deepEqual(e.map((x) => x.href), ['./sub%20dir/', './a.txt', './big.iso', './w%26e%20%3Cx%3E%2520%22q%22.txt']);
    assert.deepEqual(e[1], { href: './a.txt', dir: false, size: 6, sizeSlack: 0, mtime: utc('2023-06-07T08:09:10Z'), mtimeSpan: 1 });
    assert.equal(e[0].dir, true);
    assert.equal(e[2].size, 3_000_000_000);
  });

  it('refuses cut-off or foreign json', () => {
    assert.throws(() => parseNginxJsonIndex(NGINX_JSON.slice(0, 200)), IndexParseError);
    assert.throws(() => parseNginxJsonIndex('{"files": []}'), /not an array/);
    assert.throws(() => parseNginxJsonIndex('[{"name":"a/b","type":"file","size":1,"mtime":"Wed, 07 Jun 2023 08:09:10 GMT"}]'), /unusable entry name/);
  });

  it('reads xml with entities', () => {
    const e = parseNginxXmlIndex(NGINX_XML);
    assert.deepEqual(e.map((x) => [x.href, x.dir, x.size]), [
      ['./sub%20dir/', true, null],
      ['./a.txt', false, 6],
      [`./${encodeURIComponent('w&e <x>%20é.txt')}`, false, 2],
    ]);
    assert.equal(e[2].mtime, utc('2026-11-20T05:08:33Z'));
    assert.throws(() => parseNginxXmlIndex(NGINX_XML.slice(0, 120)), /cut off/);
  });

  it('xml: names stay text (numbers, spaces, character references)', () => {
    const xml = '<?xml version="1.0"?>\n<list>\n<file mtime="2023-06-07T08:09:10Z" size="6">007</file>\n<file mtime="2023-06-07T08:09:10Z" size="1"> a&#38;b&#x26;c </file>\n</list>\n';
    assert.deepEqual(parseNginxXmlIndex(xml).map((x) => x.href), ['./007', `./${encodeURIComponent(' a&b&c ')}`]);
  });

  it('html: entities in links and rows are decoded, tags inside a row count as spaces', () => {
    const html = '<html><head><title>Index of /x/</title></head><body><table>\n<tr><td><a href="a&amp;b.txt">a&amp;b.txt</a></td><td>2023-06-07&#32;08:09</td><td>6</td></tr>\n</table></body></html>';
    const [e] = parseHtmlIndex(html);
    assert.equal(e.href, 'a&b.txt');
    assert.equal(e.mtime, utc('2023-06-07T08:09:00Z'));
    assert.equal(e.size, 6);
  });

  it('detects the format from Content-Type or the body', () => {
    assert.equal(detectIndexFormat('application/json', NGINX_JSON), 'nginx-json');
    assert.equal(detectIndexFormat('text/xml; charset=utf-8', NGINX_XML), 'nginx-xml');
    assert.equal(detectIndexFormat(null, NGINX_XML), 'nginx-xml');
    assert.equal(detectIndexFormat('text/html', NGINX_HTML), 'html');
    assert.equal(parseIndexPage(NGINX_JSON, null).format, 'nginx-json');
  });
});

describe('HTML indexes', () => {
  it('nginx html: exact bytes, minutes, the full name from the href', () => {
    const e = byHref(parseHtmlIndex(NGINX_HTML));
    assert.deepEqual(e['a.txt'], { href: 'a.txt', dir: false, size: 6, sizeSlack: 0, mtime: utc('2023-06-07T08:09:00Z'), mtimeSpan: 60 });
    assert.equal(e['big.iso'].size, 3_000_000_000);
    assert.equal(e['a-very-long-file-name-that-nginx-cuts-off-in-the-text.tar.gz'].size, 12345);
    assert.equal(e['sub%20dir/'].dir, true);
    assert.equal(e['w%26e%20%3Cx%3E%2520%C3%A9.txt'].mtime, utc('2026-11-20T05:08:00Z'));
    assert.ok(e['../'], 'the parent link comes out; the crawler drops it');
  });

  it('Apache fancy <pre>: rounded sizes with their slack, sort links left out', () => {
    const entries = parseHtmlIndex(APACHE_FANCY_PRE);
    assert.ok(entries.every((x) => !x.href.startsWith('?')));
    const e = byHref(entries);
    assert.deepEqual(e['a.txt'], { href: 'a.txt', dir: false, size: 6, sizeSlack: 0, mtime: utc('2023-06-07T08:09:00Z'), mtimeSpan: 60 });
    const big = e['big.iso'];
    assert.ok(Math.abs(big.size! - 2.8 * 2 ** 30) < 1, String(big.size));
    assert.ok(big.sizeSlack >= 0.05 * 2 ** 30);
    assert.equal(e['src.tar.gz'].size, 17 * 2 ** 20);
    assert.equal(e['sub%20dir/'].dir, true);
    assert.equal(e['/'].dir, true);
  });

  it('Apache fancy table, with icons that are links', () => {
    const e = byHref(parseHtmlIndex(APACHE_FANCY_TABLE));
    assert.equal(e['a.txt'].size, 6);
    assert.equal(e['a.txt'].mtime, utc('2023-06-07T08:09:00Z'));
    assert.ok(Math.abs(e['big.iso'].size! - 2.8 * 2 ** 30) < 1);
    assert.equal(e['sub%20dir/'].mtime, utc('2026-11-23T18:07:00Z'));
  });

  it('Apache plain: names only, size and time unknown', () => {
    const e = byHref(parseHtmlIndex(APACHE_PLAIN));
    assert.deepEqual(e['a.txt'], { href: 'a.txt', dir: false, size: null, sizeSlack: Infinity, mtime: null, mtimeSpan: Infinity });
    assert.equal(e['sub%20dir/'].dir, true);
  });

  it('lighttpd: seconds, sizes in tenths of a KiB and up', () => {
    const e = byHref(parseHtmlIndex(LIGHTTPD));
    assert.equal(e['a.txt'].mtime, utc('2023-06-07T08:09:10Z'));
    assert.equal(e['a.txt'].mtimeSpan, 1);
    assert.ok(Math.abs(e['a.txt'].size! - 6) <= e['a.txt'].sizeSlack);
    assert.ok(e['big.iso'].sizeSlack > 0);
    assert.equal(e['sub%20dir/'].dir, true);
  });

  it('refuses a page that is not an index (a landing page would list nothing)', () => {
    assert.throws(() => parseHtmlIndex('<html><head><title>Welcome to mirror.example</title></head><body><a href="pub/">pub</a></body></html>'), /not a directory index/);
  });

  it('sizes, dates and entities', () => {
    assert.deepEqual(parseIndexSize('6'), { size: 6, slack: 0 });
    assert.deepEqual(parseIndexSize('1K'), { size: 1024, slack: 1024 });
    assert.deepEqual(parseIndexSize('4.0K'), { size: 4096, slack: 103 });
    assert.equal(parseIndexSize('17 MB')?.size, 17 * 2 ** 20);
    assert.equal(parseIndexSize('-'), null);
    assert.equal(parseIndexSize(''), null);
    assert.equal(findIndexDate('  07-Jun-2023 08:09   6')?.mtime, utc('2023-06-07T08:09:00Z'));
    assert.equal(findIndexDate('2023-06-07 08:09:10')?.span, 1);
    assert.equal(findIndexDate('nothing here'), null);
  });
});

describe('crawler link filter', () => {
  const dir = new URL('http://m.example:8080/mirror/pub/');

  it('takes direct children only', () => {
    assert.deepEqual(childOf(dir, 'a.txt'), { name: 'a.txt', dir: false });
    assert.deepEqual(childOf(dir, 'sub%20dir/'), { name: 'sub dir', dir: true });
    assert.deepEqual(childOf(dir, './w%26e%20%3Cx%3E%2520%C3%A9.txt'), { name: 'w&e <x>%20é.txt', dir: false });
    assert.deepEqual(childOf(dir, '/mirror/pub/abs.txt'), { name: 'abs.txt', dir: false });
    assert.deepEqual(childOf(dir, 'http://m.example:8080/mirror/pub/full.txt'), { name: 'full.txt', dir: false });
  });

  it('never leaves the directory', () => {
    for (const href of [
      '../',
      '..',
      '/',
      '/mirror/',
      './',
      '?C=M;O=A',
      'sub/deeper.txt',
      'http://other.example/mirror/pub/x.txt',
      'https://m.example:8080/mirror/pub/x.txt',
      'http://m.example:8081/mirror/pub/x.txt',
      'x.txt?download=1',
      'a%2Fb.txt',
      '%2e%2e/',
      'bad%zz.txt',
      'mailto:admin@m.example',
    ]) {
      assert.equal(childOf(dir, href), null, href);
    }
  });
});

describe('refinement policy', () => {
  const origin = { path: '/pub/a.iso', size: 1000, mtime: utc('2026-11-20T05:08:33Z') };
  const rough = (over: Partial<RoughFile>): RoughFile => ({ path: '/pub/a.iso', size: 1000, sizeSlack: 0, mtime: utc('2026-11-20T05:08:00Z'), mtimeSpan: 60, ...over });

  it('looks up what may be current, skips what cannot be', () => {
    assert.equal(mayBeCurrent(rough({}), origin, []), true);
    assert.equal(mayBeCurrent(rough({ size: 999 }), origin, []), false);
    assert.equal(mayBeCurrent(rough({ size: 1100, sizeSlack: 102 }), origin, []), true);
    // A day older than the origin: stale, unless an outdated allowance covers it.
    const dayOld = rough({ mtime: origin.mtime - 86400 - 15 * 3600 });
    assert.equal(mayBeCurrent(dayOld, origin, []), false);
    assert.equal(mayBeCurrent(dayOld, origin, [{ prefix: '/pub/', minutes: 2 * 24 * 60 }]), true);
    // A server 2 h ahead: still worth a lookup.
    assert.equal(mayBeCurrent(rough({ mtime: utc('2026-11-20T07:08:00Z') }), origin, []), true);
    // A day-precise FTP time and unknown values.
    assert.equal(mayBeCurrent(rough({ mtime: utc('2026-11-20T00:00:00Z'), mtimeSpan: 86400 }), origin, []), true);
    assert.equal(mayBeCurrent(rough({ size: NaN, sizeSlack: Infinity, mtime: NaN, mtimeSpan: Infinity }), origin, []), true);
    assert.equal(isExact(rough({ mtimeSpan: 1 })), true);
  });

  it('asks only for the entries that need it and keeps the rest as listed', async () => {
    const entries: RoughFile[] = [
      rough({}),
      rough({ path: '/pub/stale.iso', mtime: utc('2020-01-01T00:00:00Z') }),
      rough({ path: '/pub/not-in-origin.iso' }),
      rough({ path: '/pub/gone.iso' }),
      rough({ path: '/pub/exact.iso', mtimeSpan: 1, mtime: 123 }),
    ];
    const originRows = new Map([
      ['/pub/a.iso', origin],
      ['/pub/stale.iso', { ...origin, path: '/pub/stale.iso' }],
      ['/pub/gone.iso', { ...origin, path: '/pub/gone.iso' }],
      ['/pub/exact.iso', { ...origin, path: '/pub/exact.iso' }],
    ]);
    const asked: string[] = [];
    const r = await refineListing(entries, {
      origin: async (paths) => new Map(paths.filter((p) => originRows.has(p)).map((p) => [p, originRows.get(p)!])),
      rules: [],
      concurrency: 2,
      resolve: async (p) => {
        asked.push(p);
        return p === '/pub/gone.iso' ? null : { mtime: origin.mtime };
      },
    });
    assert.deepEqual(asked.sort(), ['/pub/a.iso', '/pub/gone.iso']);
    assert.equal(r.lookups, 2);
    assert.equal(r.vanished, 1);
    assert.deepEqual(
      r.files.map((f) => [f.path, f.mtime]),
      [
        ['/pub/a.iso', origin.mtime],
        ['/pub/stale.iso', utc('2020-01-01T00:00:00Z')],
        ['/pub/not-in-origin.iso', utc('2026-11-20T05:08:00Z')],
        ['/pub/exact.iso', 123],
      ],
    );
  });
});
