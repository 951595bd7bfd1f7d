// Mirror fixtures for pure tests and benchmarks: every field filled, the case overrides what it needs.
import type { Mirror } from '../../core/types.ts';

let nextId = 1;

/** A healthy, enabled, unrestricted dual-stack mirror in Germany with both schemes. */
export function makeMirror(over: Partial<Mirror> = {}): Mirror {
  const id = over.id ?? nextId++;
  return {
    id,
    identifier: `m${id}`,
    httpUrl: `http://m${id}.example/mirror`,
    httpsUrl: `https://m${id}.example/mirror/`,
    ftpUrl: null,
    rsyncUrl: null,
    operatorName: `Operator ${id}`,
    operatorUrl: `https://op${id}.example/`,
    adminName: 'Admin',
    adminEmail: 'admin@example.org',
    publicNotes: '',
    country: 'DE',
    continent: 'EU',
    otherCountries: [],
    lat: null,
    lng: null,
    asn: null,
    prefixes: [],
    ipv4: true,
    ipv6: true,
    score: 100,
    enabled: true,
    health: 'up',
    healthReason: '',
    healthSince: null,
    fileMaxSize: null,
    countryOnly: false,
    continentOnly: false,
    asOnly: false,
    prefixOnly: false,
    excludedCountries: [],
    acceptsRanges: true,
    createdAt: new Date(0),
    updatedAt: new Date(0),
    scan: { at: null, protocol: '', durationMs: null, filesFound: null, filesHeld: null, filesAdded: null, filesRemoved: null, error: '' },
    tzOffsetMs: 0,
    probeAt: null,
    probeSuccesses: 0,
    probeFailures: 0,
    ipv6Pinned: false,
    httpsPinned: false,
    capsAt: null,
    ...over,
  };
}
