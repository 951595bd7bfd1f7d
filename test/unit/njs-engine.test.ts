// The pure parts of njs's fallback (njs/fallback-pick.ts, njs/path-rule.ts, njs/url-path.ts) under the real njs engine: the same
// module text bundled as njs loads it, run by the `njs` CLI on fixed cases, must answer what Node answers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pickFallback from '../../njs/fallback-pick.ts';
import pathRule from '../../njs/path-rule.ts';
import urlPath from '../../njs/url-path.ts';
import { njsBinary, runUnderNjs } from '../helpers/njs-engine.ts';

const LIST = 'DE,EU,http://de.example/pub/ FR,EU,http://fr.example/pub/ US,NA,http://us.example/a,b/ broken';

/** [list, country, continent]; several answers are possible where the pool holds more than one mirror. */
const PICKS: [string, string, string][] = [
  [LIST, 'DE', 'EU'],
  [LIST, 'de', ''],
  [LIST, 'IT', 'eu'],
  [LIST, 'US', 'NA'],
  [LIST, 'JP', 'AS'],
  [LIST, '', ''],
  ['', 'DE', 'EU'],
  ['broken only', 'DE', 'EU'],
];

const URIS: [string, string][] = [
  ['/pub/x.iso', '/pub/'],
  ['/other/x.iso', '/pub/'],
  ['/pub/a b/ü.tar.gz', '/pub/'],
  ['/pub/../etc/passwd', '/pub/'],
  ['/pub/./x', '/pub/'],
  ['/pub/x/..', '/pub/'],
  ['/pub/.hidden', '/pub/'],
  ['/pub/x\r\nSet-Cookie: a', '/pub/'],
  ['/pub/x\n', '/pub/'],
  ['/pub/a?b', '/pub/'],
  ['/pub/' + 'a'.repeat(1020), '/pub/'],
];

const NAMES = ['/pub/x.iso', 'x.iso', '/a b/ü.tar.gz', "/odd/%#?\\;=+&@:!$'()*,~", '/\u20ac/\uD83D\uDE00', '/tab\tnl\n', ''];

/** Every answer pickFallback may give in Node (it picks at random among equals). */
function possiblePicks(list: string, country: string, continent: string): Set<string> {
  const seen = new Set<string>();
  const saved = Math.random;
  try {
    for (let k = 0; k < 8; k++) {
      Math.random = () => k / 8;
      seen.add(pickFallback.pick(list, country, continent));
    }
  } finally {
    Math.random = saved;
  }
  return seen;
}

test('njs engine: pickFallback, the path rule and encodePath answer as under Node', async (t) => {
  const njs = njsBinary();
  if (!njs) {
    t.skip('njs CLI not installed (apt-get install njs)');
    return;
  }
  const body = [
    `var picks = ${JSON.stringify(PICKS)};`,
    `var uris = ${JSON.stringify(URIS)};`,
    'for (var i = 0; i < picks.length; i++) console.log(JSON.stringify(fallback_pick.pick(picks[i][0], picks[i][1], picks[i][2])));',
    'for (var j = 0; j < uris.length; j++) console.log(JSON.stringify(path_rule.uriProblem(uris[j][0], uris[j][1])));',
    `var names = ${JSON.stringify(NAMES)};`,
    'for (var k = 0; k < names.length; k++) console.log(JSON.stringify(url_path.encodePath(names[k])));',
  ].join('\n');
  const lines = await runUnderNjs(njs, ['fallback-pick', 'path-rule', 'url-path'], body);
  assert.equal(lines.length, PICKS.length + URIS.length + NAMES.length);
  const got = lines.map((l) => JSON.parse(l) as string);
  PICKS.forEach(([list, country, continent], i) => {
    const node = possiblePicks(list, country, continent);
    assert.ok(node.has(got[i]), `pickFallback(${JSON.stringify([country, continent])}) under njs gave ${got[i]}, Node gives one of ${[...node].join(' ')}`);
  });
  URIS.forEach(([uri, prefix], i) => {
    assert.equal(got[PICKS.length + i], pathRule.uriProblem(uri, prefix), `uriProblem(${JSON.stringify(uri)})`);
  });
  NAMES.forEach((name, i) => {
    assert.equal(got[PICKS.length + URIS.length + i], urlPath.encodePath(name), `encodePath(${JSON.stringify(name)})`);
  });
  // The cases mean something: refusals of each kind, and acceptances.
  assert.deepEqual(
    URIS.map(([u, p]) => pathRule.uriProblem(u, p)),
    ['', 'path outside the published tree', '', 'dot segment in path', 'dot segment in path', 'dot segment in path', '',
      'control character in path', 'control character in path', 'question mark in path', 'path too long'],
  );
  assert.equal(pickFallback.pick(LIST, 'US', 'NA'), 'http://us.example/a,b/');
  assert.equal(pickFallback.pick('', 'DE', 'EU'), '');
});
