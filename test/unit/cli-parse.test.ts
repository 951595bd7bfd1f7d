import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  globToLike,
  hasControlChars,
  hasWildcard,
  normaliseFilePattern,
  parseAsn,
  parseBaseUrl,
  parseCidr,
  parseCidrList,
  parseContinent,
  parseCountry,
  parseCountryList,
  parseIdentifier,
  parseInteger,
  parseLatitude,
  parseLongitude,
  parseSize,
  urlHost,
  ValueError,
} from '../../core/cli-parse.ts';

describe('parseInteger', () => {
  it('accepts decimal integers in range', () => {
    assert.equal(parseInteger('--score', '0', 0, 10000), 0);
    assert.equal(parseInteger('--score', '10000', 0, 10000), 10000);
    assert.equal(parseInteger('--score', ' 42 ', 0, 10000), 42);
  });
  it('names the flag, the rule and the value when it refuses', () => {
    assert.throws(() => parseInteger('--score', 'abc', 0, 10000), { message: "--score must be an integer 0..10000, got 'abc'" });
    for (const bad of ['', '1e3', '0x10', '12.0', '10001', '-1', '1 2']) {
      assert.throws(() => parseInteger('--score', bad, 0, 10000), ValueError, bad);
    }
  });
});

describe('coordinates, AS numbers, sizes', () => {
  it('takes latitude and longitude within their ranges', () => {
    assert.equal(parseLatitude('--lat', '50.11'), 50.11);
    assert.equal(parseLatitude('--lat', '-90'), -90);
    assert.equal(parseLongitude('--lng', '179.9'), 179.9);
    assert.throws(() => parseLatitude('--lat', '91'), /--lat must be a number -90..90, got '91'/);
    assert.throws(() => parseLongitude('--lng', 'east'), /--lng must be a number/);
  });
  it('takes AS numbers with or without the AS prefix', () => {
    assert.equal(parseAsn('--asn', '64510'), 64510);
    assert.equal(parseAsn('--asn', 'AS64510'), 64510);
    assert.equal(parseAsn('--asn', 'as4294967295'), 4294967295);
    assert.throws(() => parseAsn('--asn', '4294967296'), /--asn must be an AS number/);
    assert.throws(() => parseAsn('--asn', 'AS-1'), ValueError);
  });
  it('takes sizes with binary suffixes', () => {
    assert.equal(parseSize('--max-size', '4096'), 4096);
    assert.equal(parseSize('--max-size', '4G'), 4 * 2 ** 30);
    assert.equal(parseSize('--max-size', '2GiB'), 2 * 2 ** 30);
    assert.equal(parseSize('--max-size', '10m'), 10 * 2 ** 20);
    assert.throws(() => parseSize('--max-size', '4.5G'), /--max-size must be a size in bytes/);
    assert.throws(() => parseSize('--max-size', '-1'), ValueError);
  });
});

describe('identifiers, countries, continents', () => {
  it('accepts what the mirror table accepts', () => {
    assert.equal(parseIdentifier('IDENTIFIER', 'ftp.example-1_a'), 'ftp.example-1_a');
    assert.throws(() => parseIdentifier('IDENTIFIER', '-x'), /IDENTIFIER must be letters/);
    assert.throws(() => parseIdentifier('IDENTIFIER', 'a b'), ValueError);
    assert.throws(() => parseIdentifier('IDENTIFIER', 'x'.repeat(64)), ValueError);
  });
  it('upper-cases country codes and allows ** only where asked', () => {
    assert.equal(parseCountry('--country', 'de'), 'DE');
    assert.equal(parseCountry('--country', '**', { wildcard: true }), '**');
    assert.throws(() => parseCountry('--country', '**'), /ISO 3166-1 country code \(two letters, e.g. DE\), got '\*\*'/);
    assert.throws(() => parseCountry('--country', 'DEU'), ValueError);
  });
  it('splits country lists on commas and spaces, dropping duplicates', () => {
    assert.deepEqual(parseCountryList('--other-countries', 'at, ch,AT li'), ['AT', 'CH', 'LI']);
    assert.deepEqual(parseCountryList('--other-countries', ''), []);
    assert.throws(() => parseCountryList('--other-countries', 'AT,x'), /--other-countries must be an ISO 3166-1 country code.*, got 'x'/);
  });
  it('knows the seven continent codes', () => {
    assert.equal(parseContinent('--continent', 'eu'), 'EU');
    assert.throws(() => parseContinent('--continent', 'XX'), /AF AN AS EU NA OC SA/);
  });
});

describe('CIDR prefixes', () => {
  it('accepts networks and makes bare addresses host routes', () => {
    assert.equal(parseCidr('--prefix', '192.0.2.0/24'), '192.0.2.0/24');
    assert.equal(parseCidr('--prefix', '192.0.2.7'), '192.0.2.7/32');
    assert.equal(parseCidr('--prefix', '2001:db8::/32'), '2001:db8::/32');
    assert.equal(parseCidr('--prefix', '0.0.0.0/0'), '0.0.0.0/0');
    assert.equal(parseCidr('--prefix', ' 192.0.2.0/024 '), '192.0.2.0/24');
  });
  it('keeps an IPv4-mapped network IPv6, as the cidr type does', () => {
    assert.equal(parseCidr('--prefix', '::ffff:192.0.2.0/120'), '::ffff:192.0.2.0/120');
    assert.equal(parseCidr('--prefix', '::ffff:192.0.2.7'), '::ffff:192.0.2.7/128');
    assert.throws(() => parseCidr('--prefix', '::ffff:192.0.2.0/24'), /did you mean ::\/24\?/);
  });
  it('refuses host bits and says which network was meant', () => {
    assert.throws(() => parseCidr('--prefix', '192.0.2.1/24'), { message: "--prefix: '192.0.2.1/24' has host bits set; did you mean 192.0.2.0/24?" });
    assert.throws(() => parseCidr('--prefix', '2001:db8::1/32'), /did you mean 2001:db8::\/32\?/);
  });
  it('refuses bad lengths and non-addresses', () => {
    assert.throws(() => parseCidr('--prefix', '192.0.2.0/33'), /prefix length 0..32/);
    assert.throws(() => parseCidr('--prefix', '192.0.2.0/2a'), ValueError);
    assert.throws(() => parseCidr('--prefix', 'example.org/24'), /CIDR notation/);
    assert.throws(() => parseCidr('--prefix', '192.0.2.0/24/1'), /CIDR notation/);
    assert.throws(() => parseCidr('--prefix', '010.0.2.0/24'), /CIDR notation/);
    assert.throws(() => parseCidr('--prefix', '2001:db8::/129'), /prefix length 0..128/);
    // PostgreSQL's cidr has no zone ids: refused here rather than by the database.
    assert.throws(() => parseCidr('--prefix', 'fe80::%eth0/64'), /CIDR notation/);
  });
  it('splits lists', () => {
    assert.deepEqual(parseCidrList('--prefix', '192.0.2.0/25,2001:db8::/48 192.0.2.0/25'), ['192.0.2.0/25', '2001:db8::/48']);
  });
});

describe('base URLs', () => {
  it('accepts absolute URLs of the flag scheme and adds the directory slash', () => {
    assert.equal(parseBaseUrl('--http', 'http', 'http://mirror.example/pub'), 'http://mirror.example/pub/');
    assert.equal(parseBaseUrl('--https', 'https', 'https://mirror.example/'), 'https://mirror.example/');
    assert.equal(parseBaseUrl('--rsync', 'rsync', 'rsync://user:pw@mirror.example/mod'), 'rsync://user:pw@mirror.example/mod/');
    assert.equal(parseBaseUrl('--ftp', 'ftp', 'ftp://anon:x@mirror.example/pub/'), 'ftp://anon:x@mirror.example/pub/');
    assert.equal(parseBaseUrl('--http', 'http', 'http://[2001:db8::1]:8080/pub/'), 'http://[2001:db8::1]:8080/pub/');
  });
  it('refuses another scheme, relative URLs, credentials on http(s), queries', () => {
    assert.throws(() => parseBaseUrl('--http', 'http', 'https://mirror.example/'), { message: "--http must be a http:// URL, got 'https://mirror.example/'" });
    assert.throws(() => parseBaseUrl('--http', 'http', 'mirror.example/pub'), /--http must be an absolute http:\/\/ URL/);
    assert.throws(() => parseBaseUrl('--https', 'https', 'https://u:p@mirror.example/'), /may not contain a user name or password/);
    assert.throws(() => parseBaseUrl('--http', 'http', 'http://mirror.example/?x=1'), /without query or fragment/);
    assert.throws(() => parseBaseUrl('--http', 'http', 'http://mirror.example/#top'), /without query or fragment/);
  });
  it('gives the host without IPv6 brackets', () => {
    assert.equal(urlHost('http://[2001:db8::1]:8080/pub/'), '2001:db8::1');
    assert.equal(urlHost('rsync://u:p@mirror.example/mod/'), 'mirror.example');
  });
});

describe('file patterns', () => {
  it('adds the leading slash except before a wildcard', () => {
    assert.equal(normaliseFilePattern('pub/x.iso'), '/pub/x.iso');
    assert.equal(normaliseFilePattern('/pub/x.iso'), '/pub/x.iso');
    assert.equal(normaliseFilePattern('*.iso'), '*.iso');
    assert.throws(() => normaliseFilePattern(' '), /PATTERN may not be empty/);
    assert.throws(() => normaliseFilePattern('/a\nb'), /control characters/);
  });
  it('translates wildcards to LIKE and escapes LIKE metacharacters', () => {
    assert.equal(globToLike('/pub/*.iso'), '/pub/%.iso');
    assert.equal(globToLike('/pub/x?.iso'), '/pub/x_.iso');
    assert.equal(globToLike('/100%_done\\x'), '/100\\%\\_done\\\\x');
    assert.equal(hasWildcard('/pub/*.iso'), true);
    assert.equal(hasWildcard('/pub/x_1%.iso'), false);
  });
});

describe('hasControlChars', () => {
  it('finds C0 controls and DEL unless allowed', () => {
    assert.equal(hasControlChars('plain text'), false);
    assert.equal(hasControlChars('a\nb'), true);
    assert.equal(hasControlChars('a\nb\tc', '\n\t'), false);
    assert.equal(hasControlChars('a\u007fb', '\n'), true);
    assert.equal(hasControlChars('\u001b[31m'), true);
  });
});
