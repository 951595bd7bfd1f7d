import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeRequestError } from '../../core/probe/check.ts';
import type { MirrorCheck, ProbeResponse, ProtocolCheck, Step } from '../../core/probe/types.ts';
import { mapBounded, pickFile, selectMirrors, UnknownMirrorsError } from '../../core/probe/run.ts';
import {
  changeText,
  judge,
  stateText,
  transition,
  type HealthRecord,
  type ProbeRules,
  type Thresholds,
  type Verdict,
} from '../../core/probe/state.ts';
import { makeMirror } from '../helpers/mirror-factory.ts';

// ---- building checks

function res(status: number, over: Partial<Extract<ProbeResponse, { kind: 'response' }>> = {}): ProbeResponse {
  return { kind: 'response', status, location: null, contentLength: null, body: null, ms: 1, ...over };
}
const err = (error: string): ProbeResponse => ({ kind: 'error', error, ms: 1 });
const step = (answer: ProbeResponse, redirects: string[] = []): Step => ({ url: 'http://m.example/x', answer, redirects });

const FILE = { path: '/pub/small.txt', size: 10 };
const TRACE = { path: '/project/trace', originS: 1_750_000_000 };

function proto(scheme: 'http' | 'https', base: ProbeResponse, file?: ProbeResponse, trace?: ProbeResponse, redirects: string[] = []): ProtocolCheck {
  return {
    scheme,
    base: step(base, redirects),
    file: file ? step(file) : null,
    trace: trace ? step(trace) : null,
  };
}

function check(protocols: ProtocolCheck[], opts: { file?: boolean; trace?: boolean } = {}): MirrorCheck {
  return {
    mirrorId: 1,
    identifier: 'm1',
    protocols,
    file: opts.file === false ? null : FILE,
    trace: opts.trace ? TRACE : null,
    ms: 3,
  };
}

const RULES: ProbeRules = { refuseRedirects: true, traceMaxAgeS: 3600 };
const pass = { ok: true, reason: '', immediate: false, missing: null };

describe('judge', () => {
  const traceBody = (ageS: number) => res(200, { body: `${TRACE.originS - ageS}\n` });
  const cases: [string, MirrorCheck, Partial<Verdict>][] = [
    ['base and file answer 200', check([proto('http', res(200), res(200, { contentLength: 10 }))]), pass],
    ['base 403 (listing forbidden) passes', check([proto('http', res(403), res(200))]), pass],
    ['no file to probe: the base decides', check([proto('http', res(200))], { file: false }), pass],
    ['connection refused', check([proto('http', err('connection refused'))]), { ok: false, reason: 'connection refused', immediate: false }],
    ['timeout', check([proto('http', err('timeout'))]), { ok: false, reason: 'timeout' }],
    ['HTTP 503 at the base', check([proto('http', res(503))]), { ok: false, reason: 'HTTP 503' }],
    ['HTTP 404 at the base URL is a failure', check([proto('http', res(404))]), { ok: false, reason: 'HTTP 404 at base URL' }],
    [
      'refused redirect at the base',
      check([proto('http', res(302, { location: 'http://other.example/pub/' }))]),
      { ok: false, reason: 'redirect to http://other.example/pub/' },
    ],
    [
      'redirects followed until the limit',
      check([proto('http', res(302, { location: 'http://loop.example/' }), undefined, undefined, ['a', 'b', 'c', 'd', 'e'])]),
      { ok: false, reason: 'too many redirects' },
    ],
    [
      '404 on the file with a working base: ok, the file is missing',
      check([proto('http', res(200), res(404))]),
      { ok: true, reason: '', missing: { path: FILE.path, kind: 'gone', why: 'HTTP 404' } },
    ],
    [
      '410 on the file: gone too',
      check([proto('http', res(200), res(410))]),
      { ok: true, missing: { path: FILE.path, kind: 'gone', why: 'HTTP 410' } },
    ],
    [
      'another size: not a current copy, not a failure',
      check([proto('http', res(200), res(200, { contentLength: 7 }))]),
      { ok: true, missing: { path: FILE.path, kind: 'differs', why: 'size 7, origin 10' } },
    ],
    ['file 503 is a failure', check([proto('http', res(200), res(503))]), { ok: false, reason: 'HTTP 503', missing: null }],
    ['file 403 is a failure: clients would get it', check([proto('http', res(200), res(403))]), { ok: false, reason: 'HTTP 403' }],
    ['file timeout is a failure', check([proto('http', res(200), err('timeout'))]), { ok: false, reason: 'timeout' }],
    [
      'file redirect refused',
      check([proto('http', res(200), res(301, { location: 'https://m.example/pub/small.txt' }))]),
      { ok: false, reason: 'redirect to https://m.example/pub/small.txt' },
    ],
    [
      'fresh trace',
      check([proto('http', res(200), res(200), traceBody(600))], { trace: true }),
      { ok: true, traceLagS: 600 },
    ],
    [
      'stale trace: down at once',
      check([proto('http', res(200), res(200), traceBody(5 * 3600 + 10))], { trace: true }),
      { ok: false, reason: 'stale: trace 5 h behind', immediate: true, traceLagS: 5 * 3600 + 10 },
    ],
    [
      'trace missing on the mirror',
      check([proto('http', res(200), res(200), res(404))], { trace: true }),
      { ok: false, reason: 'file missing: /project/trace', immediate: false },
    ],
    [
      'trace unreadable',
      check([proto('http', res(200), res(200), res(200, { body: '<html>' }))], { trace: true }),
      { ok: false, reason: 'trace unreadable: /project/trace' },
    ],
    [
      'both protocols refused the same way: no protocol named',
      check([proto('http', err('connection refused')), proto('https', err('connection refused'))]),
      { ok: false, reason: 'connection refused' },
    ],
    [
      'only https fails: named',
      check([proto('http', res(200), res(200)), proto('https', err('TLS: certificate expired'))]),
      { ok: false, reason: 'https: TLS: certificate expired' },
    ],
    [
      'different failures: the first, named',
      check([proto('http', res(503)), proto('https', err('timeout'))]),
      { ok: false, reason: 'http: HTTP 503' },
    ],
    [
      'stale trace wins over another failure and takes the mirror down at once',
      check([proto('http', res(200), res(200), traceBody(7200 + 60)), proto('https', err('timeout'))], { trace: true }),
      { ok: false, reason: 'http: stale: trace 2 h behind', immediate: true },
    ],
    ['no http or https URL: skipped', check([]), { skipped: true, ok: true }],
  ];
  for (const [name, c, want] of cases) {
    it(name, () => {
      const v = judge(c, RULES);
      for (const [k, value] of Object.entries(want)) assert.deepEqual(v[k as keyof Verdict], value, `${k} of ${JSON.stringify(v)}`);
    });
  }
});

describe('transition', () => {
  const t: Thresholds = { upAfter: 2, downAfter: 2 };
  const now = new Date('2026-01-02T03:04:05Z');
  const then = new Date('2025-12-01T00:00:00Z');
  const rec = (health: HealthRecord['health'], successes = 0, failures = 0, reason = '', since: Date | null = then): HealthRecord => ({
    health,
    reason,
    since,
    successes,
    failures,
  });
  const OK = { ok: true, reason: '', immediate: false };
  const FAIL = (reason: string, immediate = false) => ({ ok: false, reason, immediate });

  const cases: [string, HealthRecord, typeof OK, Thresholds, HealthRecord, boolean][] = [
    ['unknown, first success: not yet up', rec('unknown', 0, 0, '', null), OK, t, rec('unknown', 1, 0, '', null), false],
    ['unknown, upAfter-th success: up', rec('unknown', 1, 0, '', null), OK, t, rec('up', 2, 0, '', now), true],
    ['upAfter 1: up at the first success', rec('unknown', 0, 0, '', null), OK, { upAfter: 1, downAfter: 1 }, rec('up', 1, 0, '', now), true],
    ['up stays up: counters only', rec('up', 5), OK, t, rec('up', 6), false],
    ['down, one success of two', rec('down', 0, 3, 'timeout'), OK, t, rec('down', 1, 0, 'timeout'), false],
    ['down, upAfter successes: up, reason cleared', rec('down', 1, 0, 'timeout'), OK, t, rec('up', 2, 0, '', now), true],
    ['up with a stray reason: cleared', rec('up', 1, 0, 'old'), OK, t, rec('up', 2, 0, ''), true],
    ['up, first failure of two: still up', rec('up', 9), FAIL('timeout'), t, rec('up', 0, 1), false],
    ['up, downAfter-th failure: down', rec('up', 0, 1), FAIL('timeout'), t, rec('down', 0, 2, 'timeout', now), true],
    ['downAfter 1: down at once', rec('up', 3), FAIL('HTTP 503'), { upAfter: 2, downAfter: 1 }, rec('down', 0, 1, 'HTTP 503', now), true],
    ['unknown goes down too', rec('unknown', 0, 1, '', null), FAIL('connection refused'), t, rec('down', 0, 2, 'connection refused', now), true],
    ['immediate failure ignores downAfter', rec('up', 4), FAIL('stale: trace 5 h behind', true), t, rec('down', 0, 1, 'stale: trace 5 h behind', now), true],
    ['down, same reason: counters only', rec('down', 0, 2, 'timeout'), FAIL('timeout'), t, rec('down', 0, 3, 'timeout'), false],
    ['down, new reason: reason written, since kept', rec('down', 0, 2, 'timeout'), FAIL('connection refused'), t, rec('down', 0, 3, 'connection refused'), true],
    ['a success resets the failures', rec('up', 0, 1), OK, t, rec('up', 1, 0), false],
    ['counters stop growing', rec('up', 1_000_000_000), OK, t, rec('up', 1_000_000_000), false],
  ];
  for (const [name, prev, verdict, th, next, changed] of cases) {
    it(name, () => assert.deepEqual(transition(prev, verdict, th, now), { next, changed }));
  }

  it('changeText and stateText say what happened and what is next', () => {
    assert.equal(changeText(rec('up'), rec('down', 0, 1, 'timeout')), 'up → down: timeout');
    assert.equal(changeText(rec('down', 0, 1, 'timeout'), rec('up', 2)), 'down → up');
    assert.equal(changeText(rec('down', 0, 1, 'timeout'), rec('down', 0, 2, 'HTTP 503')), 'down: HTTP 503');
    assert.equal(changeText(rec('up', 1), rec('up', 2)), '');
    assert.equal(stateText(rec('unknown', 1), t), 'unknown (1/2 successes to up)');
    assert.equal(stateText(rec('up', 0, 1), t), 'up (1/2 failures to down)');
    assert.equal(stateText(rec('down', 0, 4, 'timeout'), t), 'down');
  });
});

describe('request errors become short reasons', () => {
  const cases: [unknown, string][] = [
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'connection refused'],
    [Object.assign(new Error('x'), { name: 'TimeoutError' }), 'timeout'],
    [Object.assign(new Error('x'), { code: 'ENOTFOUND' }), 'host not found'],
    [Object.assign(new Error('x'), { code: 'CERT_HAS_EXPIRED' }), 'TLS: certificate expired'],
    [Object.assign(new Error('x'), { code: 'ERR_SSL_WRONG_VERSION_NUMBER' }), 'TLS: ERR_SSL_WRONG_VERSION_NUMBER'],
    [Object.assign(new Error('x'), { code: 'HPE_INVALID_CONSTANT' }), 'bad HTTP response'],
    [new Error('socket hang up'), 'connection closed without an answer'],
  ];
  for (const [e, want] of cases) it(want, () => assert.equal(describeRequestError(e), want));
});

describe('round helpers', () => {
  it('pickFile draws among the candidates', () => {
    const files = [1, 2, 3].map((n) => ({ path: `/f${n}`, size: n }));
    assert.equal(pickFile([], () => 0), null);
    assert.equal(pickFile(files, () => 0)!.path, '/f1');
    assert.equal(pickFile(files, () => 0.5)!.path, '/f2');
    assert.equal(pickFile(files, () => 0.9999)!.path, '/f3');
    assert.equal(pickFile(files, () => 1)!.path, '/f3');
  });

  it('selectMirrors: enabled ones by default, named ones even if disabled, unknown names refused', () => {
    const all = [makeMirror({ identifier: 'a' }), makeMirror({ identifier: 'b', enabled: false }), makeMirror({ identifier: 'c' })];
    assert.deepEqual(selectMirrors(all, undefined).map((m) => m.identifier), ['a', 'c']);
    assert.deepEqual(selectMirrors(all, []).map((m) => m.identifier), ['a', 'c']);
    assert.deepEqual(selectMirrors(all, ['b', 'a', 'b']).map((m) => m.identifier), ['a', 'b']);
    assert.throws(() => selectMirrors(all, ['a', 'x', 'y']), (e: unknown) => e instanceof UnknownMirrorsError && e.message === 'unknown mirrors: x, y');
  });

  it('mapBounded keeps order, never exceeds the bound, runs every item before throwing', async () => {
    let running = 0;
    let peak = 0;
    const seen: number[] = [];
    const out = await mapBounded([5, 1, 4, 2, 3], 2, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, n));
      running--;
      seen.push(n);
      return n * 10;
    });
    assert.deepEqual(out, [50, 10, 40, 20, 30]);
    assert.equal(peak, 2);
    seen.length = 0;
    await assert.rejects(
      mapBounded([1, 2, 3], 3, async (n) => {
        seen.push(n);
        if (n === 1) throw new Error('one');
        return n;
      }),
      /one/,
    );
    assert.deepEqual(seen.sort(), [1, 2, 3]);
  });
});
