import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compileLocalDeliveryRules,
  globToRegExp,
  localDeliveryReason,
  type LocalDeliveryRules,
} from '../../core/local-delivery.ts';

const rules: LocalDeliveryRules = {
  minSize: 4096,
  excludePaths: ['*.asc', '*.sha256', '/pub/private/**', '/pub/*/README', 're:\\.(md5|sha1)$'],
  excludeNetworks: ['192.0.2.0/24', '2001:db8:1::/48', '203.0.113.9'],
  excludeUserAgents: ['Wget/1.', 're:^curl/[0-7]\\.'],
};

const base = { path: '/pub/x.iso', size: 1_000_000, clientIp: '198.51.100.7', userAgent: 'Mozilla/5.0' };

const cases: { name: string; req: Partial<typeof base>; want: string | null }[] = [
  { name: 'big file, nothing matches: redirect', req: {}, want: null },
  { name: 'smaller than MinSize', req: { size: 4095 }, want: 'smaller than 4096 bytes' },
  { name: 'exactly MinSize is redirected', req: { size: 4096 }, want: null },
  { name: 'empty file', req: { size: 0 }, want: 'smaller than 4096 bytes' },
  { name: 'basename glob', req: { path: '/pub/deep/dir/x.iso.asc' }, want: 'excluded path: *.asc' },
  { name: 'basename glob does not match a directory name', req: { path: '/pub/a.asc/x.iso' }, want: null },
  { name: 'path glob with **', req: { path: '/pub/private/a/b/c.iso' }, want: 'excluded path: /pub/private/**' },
  { name: 'path glob with * stays in one segment', req: { path: '/pub/a/README' }, want: 'excluded path: /pub/*/README' },
  { name: '* does not cross /', req: { path: '/pub/a/b/README' }, want: null },
  { name: 'regexp pattern', req: { path: '/pub/x.iso.md5' }, want: 'excluded path: re:\\.(md5|sha1)$' },
  { name: 'glob dots are literal', req: { path: '/pub/xasc' }, want: null },
  { name: 'excluded IPv4 network', req: { clientIp: '192.0.2.200' }, want: 'excluded network: 192.0.2.0/24' },
  { name: 'excluded single address', req: { clientIp: '203.0.113.9' }, want: 'excluded network: 203.0.113.9' },
  { name: 'neighbour of the single address', req: { clientIp: '203.0.113.10' }, want: null },
  { name: 'excluded IPv6 network', req: { clientIp: '2001:db8:1:ffff::1' }, want: 'excluded network: 2001:db8:1::/48' },
  { name: 'IPv6 outside the network', req: { clientIp: '2001:db8:2::1' }, want: null },
  { name: 'IPv4-mapped IPv6 client', req: { clientIp: '::ffff:192.0.2.1' }, want: 'excluded network: 192.0.2.0/24' },
  { name: 'IPv6 client with a zone id', req: { clientIp: '2001:db8:1::1%eth0' }, want: 'excluded network: 2001:db8:1::/48' },
  { name: 'unparseable client address: not excluded', req: { clientIp: 'garbage' }, want: null },
  { name: 'user agent substring, case-insensitive', req: { userAgent: 'wget/1.21.3' }, want: 'excluded user agent: Wget/1.' },
  { name: 'user agent regexp', req: { userAgent: 'curl/7.88.1' }, want: 'excluded user agent: re:^curl/[0-7]\\.' },
  { name: 'user agent regexp no match', req: { userAgent: 'curl/8.5.0' }, want: null },
  { name: 'size wins over path', req: { size: 10, path: '/pub/x.asc' }, want: 'smaller than 4096 bytes' },
];

for (const c of cases) {
  test(`localDeliveryReason: ${c.name}`, () => {
    assert.equal(localDeliveryReason({ ...base, ...c.req }, rules), c.want);
  });
}

test('no rules: only the size gate applies', () => {
  const none: LocalDeliveryRules = { minSize: 0, excludePaths: [], excludeNetworks: [], excludeUserAgents: [] };
  assert.equal(localDeliveryReason({ ...base, size: 0 }, none), null);
});

test('a swapped rules array is recompiled', () => {
  const r: LocalDeliveryRules = { minSize: 0, excludePaths: [], excludeNetworks: [], excludeUserAgents: [] };
  assert.equal(localDeliveryReason({ ...base, path: '/a.sig' }, r), null);
  r.excludePaths = ['*.sig'];
  assert.equal(localDeliveryReason({ ...base, path: '/a.sig' }, r), 'excluded path: *.sig');
});

test('compileLocalDeliveryRules rejects bad entries with a clear message', () => {
  const ok: LocalDeliveryRules = { minSize: 0, excludePaths: [], excludeNetworks: [], excludeUserAgents: [] };
  assert.throws(() => compileLocalDeliveryRules({ ...ok, excludeNetworks: ['10.0.0.0/33'] }), /bad network "10.0.0.0\/33"/);
  assert.throws(() => compileLocalDeliveryRules({ ...ok, excludeNetworks: ['nonsense'] }), /bad network/);
  assert.throws(() => compileLocalDeliveryRules({ ...ok, excludePaths: ['re:(unclosed'] }), /excludePaths: bad regular expression/);
  assert.throws(() => compileLocalDeliveryRules({ ...ok, excludeUserAgents: ['re:['] }), /excludeUserAgents: bad regular expression/);
});

test('globToRegExp escapes regexp metacharacters', () => {
  assert.ok(globToRegExp('a+(b).iso').test('a+(b).iso'));
  assert.ok(!globToRegExp('a+(b).iso').test('aa(b)xiso'));
  assert.ok(globToRegExp('x?.iso').test('x1.iso'));
  assert.ok(!globToRegExp('x?.iso').test('x/.iso'));
});
