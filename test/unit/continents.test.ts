import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countries } from 'countries-list';
import { CONTINENT_CODES, CONTINENT_NAMES, continentName, continentOf, countryName, isCountryCode } from '../../core/continents.ts';

test('continentOf maps countries of every continent', () => {
  const cases: [string, string][] = [
    ['DE', 'EU'], ['FR', 'EU'], ['US', 'NA'], ['CA', 'NA'], ['MX', 'NA'], ['BR', 'SA'], ['AR', 'SA'],
    ['JP', 'AS'], ['CN', 'AS'], ['IN', 'AS'], ['AU', 'OC'], ['NZ', 'OC'], ['ZA', 'AF'], ['EG', 'AF'],
    ['AQ', 'AN'], ['XK', 'EU'],
  ];
  for (const [cc, want] of cases) assert.equal(continentOf(cc), want, cc);
});

test('transcontinental countries follow MaxMind: Russia in Europe, Turkey in Asia', () => {
  assert.equal(continentOf('RU'), 'EU');
  assert.equal(continentOf('TR'), 'AS');
  assert.equal(continentOf('KZ'), 'AS');
});

test('continentOf is case-insensitive and null for anything unknown', () => {
  assert.equal(continentOf('de'), 'EU');
  for (const bad of ['ZZ', 'XX', '', 'DEU', 'D', null, undefined]) assert.equal(continentOf(bad), null, String(bad));
});

test('every countries-list code maps to one of the seven continents', () => {
  const codes = Object.keys(countries);
  assert.ok(codes.length > 240);
  for (const cc of codes) {
    assert.ok(CONTINENT_CODES.includes(continentOf(cc)!), cc);
    assert.ok(isCountryCode(cc), cc);
  }
  assert.equal(isCountryCode('ZZ'), false);
});

test('names', () => {
  assert.equal(CONTINENT_NAMES.EU, 'Europe');
  assert.equal(continentName('na'), 'North America');
  assert.equal(continentName('XX'), null);
  assert.equal(countryName('DE'), 'Germany');
  assert.equal(countryName('ZZ'), null);
  assert.deepEqual([...CONTINENT_CODES].sort(), Object.keys(CONTINENT_NAMES).sort());
});
