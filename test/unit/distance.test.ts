import { test } from 'node:test';
import assert from 'node:assert/strict';
import { haversineKm } from '../../core/distance.ts';

// Reference figures: great-circle distances on a 6371 km sphere (rounded).
const cases: { name: string; a: [number, number]; b: [number, number]; km: number; tol: number }[] = [
  { name: 'same point', a: [48.8566, 2.3522], b: [48.8566, 2.3522], km: 0, tol: 1e-9 },
  { name: 'Paris - London', a: [48.8566, 2.3522], b: [51.5074, -0.1278], km: 343.5, tol: 1.5 },
  { name: 'Paris - New York', a: [48.8566, 2.3522], b: [40.7128, -74.006], km: 5837, tol: 10 },
  { name: 'one degree of latitude', a: [0, 0], b: [1, 0], km: 111.19, tol: 0.05 },
  { name: 'across the antimeridian', a: [0, 179.5], b: [0, -179.5], km: 111.19, tol: 0.05 },
  { name: 'pole to pole', a: [90, 0], b: [-90, 0], km: Math.PI * 6371.0088, tol: 0.01 },
  { name: 'antipodes', a: [10, 20], b: [-10, -160], km: Math.PI * 6371.0088, tol: 0.01 },
];

for (const c of cases) {
  test(`haversineKm: ${c.name}`, () => {
    const d = haversineKm(c.a[0], c.a[1], c.b[0], c.b[1]);
    assert.ok(Math.abs(d - c.km) <= c.tol, `got ${d}, want ${c.km} ± ${c.tol}`);
    assert.equal(haversineKm(c.b[0], c.b[1], c.a[0], c.a[1]), d, 'symmetric');
  });
}

test('haversineKm: a non-number input gives NaN, not a distance', () => {
  assert.ok(Number.isNaN(haversineKm(NaN, 0, 0, 0)));
  assert.ok(Number.isNaN(haversineKm(0, 0, 0, Infinity)));
});
