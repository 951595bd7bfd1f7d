// One rule per mirror field that more than one entry point accepts (mirror add/edit, import, list filters).
// Each returns null when the value is fine, or what it must be, so a caller words the message in its own terms
// (a flag name, "mirrors[2]: country"). Pure; the callers normalise case first where they accept any case.
import { continentOf } from './continents.ts';

export const IDENTIFIER_RULE = 'letters, digits, ".", "_" or "-", starting with a letter or digit, at most 63 characters';

export function identifierProblem(v: string): string | null {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(v) ? null : IDENTIFIER_RULE;
}

/**
 * Identifiers are unique regardless of case (`mir-a` and `mir-A` would be one mirror to a reader; migration 007
 * enforces it in the database). The key two identifiers compare by.
 */
export function identifierKey(v: string): string {
  return v.toLowerCase();
}

export interface CountryRuleOptions {
  /** "**" (serves every country) is allowed. */
  wildcard?: boolean;
  /** "" (no country known) is allowed. */
  empty?: boolean;
}

/** An upper-case ISO 3166-1 alpha-2 code that exists ("QQ" and "ZZ" have the shape but are no country). */
export function countryProblem(v: string, opts: CountryRuleOptions = {}): string | null {
  if (v === '**' && opts.wildcard) return null;
  if (v === '' && opts.empty) return null;
  if (/^[A-Z]{2}$/.test(v) && continentOf(v)) return null;
  const extra = [opts.wildcard ? '"**"' : null, opts.empty ? 'empty' : null].filter((x) => x !== null);
  return `an ISO 3166-1 country code (two letters, e.g. DE)${extra.length ? ` or ${extra.join(' or ')}` : ''}`;
}

/** A list of country codes as countryProblem() allows them (no wildcard, no empty entries). */
export function countryListProblem(v: readonly string[]): string | null {
  const bad = v.find((c) => countryProblem(c) !== null);
  return bad === undefined ? null : `a list of ISO 3166-1 country codes (two upper-case letters), not ${JSON.stringify(bad)}`;
}
