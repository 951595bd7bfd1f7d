// Shared plain-data types: what the database holds, what the sidecar decides with,
// what the CLI prints. No behaviour here.

/** ISO 3166-1 alpha-2 code in upper case ("DE"), "**" on a mirror that serves every country. */
export type CountryCode = string;
/** Continent code in upper case: AF AN AS EU NA OC SA. */
export type ContinentCode = string;

export type HealthState = 'unknown' | 'up' | 'down';
export type Scheme = 'http' | 'https';

export interface Mirror {
  id: number;
  identifier: string;
  httpUrl: string | null;
  httpsUrl: string | null;
  ftpUrl: string | null;
  rsyncUrl: string | null;
  operatorName: string;
  operatorUrl: string;
  adminName: string;
  adminEmail: string;
  publicNotes: string;
  country: CountryCode;
  continent: ContinentCode;
  otherCountries: CountryCode[];
  lat: number | null;
  lng: number | null;
  asn: number | null;
  /** CIDR prefixes of the mirror's network, IPv4 or IPv6 ("192.0.2.0/24"). */
  prefixes: string[];
  ipv4: boolean;
  ipv6: boolean;
  /** Weight: share of the load among mirrors of the same tier. 0 takes the mirror out of rotation. */
  score: number;
  enabled: boolean;
  health: HealthState;
  healthReason: string;
  healthSince: Date | null;
  /** Largest file size in bytes this mirror accepts; null: no limit. */
  fileMaxSize: number | null;
  countryOnly: boolean;
  continentOnly: boolean;
  asOnly: boolean;
  prefixOnly: boolean;
  excludedCountries: CountryCode[];
  acceptsRanges: boolean;
  createdAt: Date;
  updatedAt: Date;
  /** Bookkeeping of scans and probes: written by the scanner and the prober, shown by `mirror show`. */
  scan: MirrorScanState;
  tzOffsetMs: number;
  probeAt: Date | null;
  probeSuccesses: number;
  probeFailures: number;
  /** The operator fixed ipv6 / the https URL: the probe's capability check reports but never changes them. */
  ipv6Pinned: boolean;
  httpsPinned: boolean;
  /** When the probe last changed a capability (ipv6, https URL); null: never. */
  capsAt: Date | null;
}

export interface MirrorScanState {
  at: Date | null;
  protocol: string;
  durationMs: number | null;
  filesFound: number | null;
  filesHeld: number | null;
  filesAdded: number | null;
  filesRemoved: number | null;
  /** '' when the last scan succeeded. */
  error: string;
}

/** One row of the packed file table. */
export interface FileRow {
  id: number;
  path: string;
  size: number;
  /** Unix seconds. */
  mtime: number;
  sha256: string | null; // hex
  sha1: string | null;
  md5: string | null;
  /** Ids of the mirrors that hold a current copy. */
  mirrors: number[];
}

/** Where the redirector thinks a client is. Every field may be unknown. */
export interface ClientLocation {
  ip: string;
  family: 4 | 6;
  country: CountryCode | null;
  continent: ContinentCode | null;
  lat: number | null;
  lng: number | null;
  asn: number | null;
  asOrg?: string | null;
  city?: string | null;
}

export interface MirrorNote {
  id: number;
  mirrorId: number;
  createdAt: Date;
  author: string;
  body: string;
}
