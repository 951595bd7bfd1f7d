// Should the origin serve this file itself instead of redirecting? MirrorBrain's MinSize, ExcludeFileMask,
// ExcludeNetwork and ExcludeUserAgent. Pure; runs on every request, so the patterns are compiled once per rules
// object (cached), never per call.
//
// Pattern syntax (decided here, documented for the config):
// - excludePaths: a glob by default. '*' matches within one path segment, '**' across segments, '?' one character
//   other than '/'. A glob without '/' is matched against the file name only ("*.asc", "*.sha256"); a glob with a
//   '/' is matched against the whole origin path ("/pub/private/**"). An entry "re:<source>" is a regular
//   expression tested against the whole path (MirrorBrain's ExcludeFileMask is a regexp).
// - excludeNetworks: CIDR prefixes or bare addresses, IPv4 or IPv6.
// - excludeUserAgents: case-insensitive substrings ("Wget"); "re:<source>" for a regular expression (flag i).

import { netContains, parseIp, parseNet, type ParsedNet } from './ip.ts';

export interface LocalDeliveryRequest {
  /** Origin path, starts with '/', not percent-encoded. */
  path: string;
  size: number;
  clientIp: string;
  userAgent: string;
}

export interface LocalDeliveryRules {
  /** Files smaller than this many bytes are served locally (MirrorBrain's MinSize, 4096 by default there). */
  minSize: number;
  excludePaths: string[];
  /** CIDR. */
  excludeNetworks: string[];
  excludeUserAgents: string[];
}

interface PathMatcher {
  pattern: string;
  re: RegExp;
  basenameOnly: boolean;
}

interface UaMatcher {
  pattern: string;
  /** Lower-cased substring, or null when `re` is used. */
  needle: string | null;
  re: RegExp | null;
}

export interface CompiledLocalDeliveryRules {
  paths: PathMatcher[];
  nets: ParsedNet[];
  agents: UaMatcher[];
}

/** Translates a glob (syntax above) into an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  let src = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        src += '.*';
        i++;
      } else {
        src += '[^/]*';
      }
    } else if (c === '?') {
      src += '[^/]';
    } else {
      src += c.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
    }
  }
  return new RegExp(src + '$');
}

/**
 * Compiles the rules; throws with the offending entry on a malformed pattern or network, so that the config loader
 * can call it at startup and refuse a bad config with a clear message.
 */
export function compileLocalDeliveryRules(rules: LocalDeliveryRules): CompiledLocalDeliveryRules {
  const paths: PathMatcher[] = rules.excludePaths.map((pattern) => {
    if (pattern.startsWith('re:')) {
      try {
        return { pattern, re: new RegExp(pattern.slice(3)), basenameOnly: false };
      } catch (e) {
        throw new Error(`excludePaths: bad regular expression ${JSON.stringify(pattern)}: ${(e as Error).message}`);
      }
    }
    return { pattern, re: globToRegExp(pattern), basenameOnly: !pattern.includes('/') };
  });
  const nets = rules.excludeNetworks.map((text) => {
    const net = parseNet(text);
    if (net === null) throw new Error(`excludeNetworks: bad network ${JSON.stringify(text)}`);
    return net;
  });
  const agents: UaMatcher[] = rules.excludeUserAgents.map((pattern) => {
    if (pattern.startsWith('re:')) {
      try {
        return { pattern, needle: null, re: new RegExp(pattern.slice(3), 'i') };
      } catch (e) {
        throw new Error(`excludeUserAgents: bad regular expression ${JSON.stringify(pattern)}: ${(e as Error).message}`);
      }
    }
    return { pattern, needle: pattern.toLowerCase(), re: null };
  });
  return { paths, nets, agents };
}

// Compiled rules per rules object: the config holds one object for the life of the process. The array identities
// are checked too, so that a config reload that swaps an array in place is seen.
interface CacheEntry {
  paths: string[];
  nets: string[];
  agents: string[];
  compiled: CompiledLocalDeliveryRules;
}
const cache = new WeakMap<LocalDeliveryRules, CacheEntry>();

function compiledFor(rules: LocalDeliveryRules): CompiledLocalDeliveryRules {
  const hit = cache.get(rules);
  if (
    hit !== undefined &&
    hit.paths === rules.excludePaths &&
    hit.nets === rules.excludeNetworks &&
    hit.agents === rules.excludeUserAgents
  ) {
    return hit.compiled;
  }
  const compiled = compileLocalDeliveryRules(rules);
  cache.set(rules, {
    paths: rules.excludePaths,
    nets: rules.excludeNetworks,
    agents: rules.excludeUserAgents,
    compiled,
  });
  return compiled;
}

/**
 * Why the origin should deliver this file itself, or null to go on with mirror selection. The first rule that
 * applies wins: size, path, network, user agent.
 */
export function localDeliveryReason(req: LocalDeliveryRequest, rules: LocalDeliveryRules): string | null {
  if (req.size < rules.minSize) return `smaller than ${rules.minSize} bytes`;
  const c = compiledFor(rules);

  if (c.paths.length > 0) {
    const slash = req.path.lastIndexOf('/');
    const name = slash < 0 ? req.path : req.path.slice(slash + 1);
    for (const p of c.paths) {
      if (p.re.test(p.basenameOnly ? name : req.path)) return `excluded path: ${p.pattern}`;
    }
  }

  if (c.nets.length > 0) {
    const ip = parseIp(req.clientIp);
    if (ip !== null) {
      for (const n of c.nets) if (netContains(n, ip)) return `excluded network: ${n.text}`;
    }
  }

  if (c.agents.length > 0 && req.userAgent !== '') {
    let lower: string | null = null;
    for (const a of c.agents) {
      if (a.re !== null) {
        if (a.re.test(req.userAgent)) return `excluded user agent: ${a.pattern}`;
      } else {
        lower ??= req.userAgent.toLowerCase();
        if (a.needle !== '' && lower.includes(a.needle as string)) return `excluded user agent: ${a.pattern}`;
      }
    }
  }
  return null;
}
