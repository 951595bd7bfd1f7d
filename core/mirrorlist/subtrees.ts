// Which parts of the origin tree each mirror carries, for the public mirror list. Pure.
//
// A subtree is a top-level directory of the origin ("/debian/"), or a second-level one ("/pub/debian/") when every
// directory of the origin sits under one top directory (a tree published as /pub/... says nothing at level one).
// Files lying directly at that level (README, timestamps) belong to no subtree. A mirror carries a subtree when it
// holds a current copy of at least one file in it. It is "full" when it carries every subtree (for an origin
// without subtrees: when it holds any file), "none" when it holds no file, else "partial" with the list.

/** One row of the subtree query: a subtree (null: files outside any subtree) and the ids of mirrors holding a file in it. */
export interface SubtreeHolders {
  subtree: string | null;
  mirrors: number[];
}

export type Coverage = { kind: 'full' } | { kind: 'partial'; subtrees: string[] } | { kind: 'none' };

export interface OriginCoverage {
  /** Every subtree of the origin, as "/name/" or "/top/name/", sorted. */
  subtrees: string[];
  of(mirrorId: number): Coverage;
}

/** "pub/debian" → "/pub/debian/". */
export function subtreeLabel(joined: string): string {
  return `/${joined}/`;
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function originCoverage(rows: SubtreeHolders[]): OriginCoverage {
  const subtrees: string[] = [];
  const held = new Map<number, string[]>();
  const holdsAny = new Set<number>();
  for (const r of rows) {
    for (const id of r.mirrors) holdsAny.add(id);
    if (r.subtree === null) continue;
    const label = subtreeLabel(r.subtree);
    subtrees.push(label);
    for (const id of r.mirrors) {
      const list = held.get(id) ?? [];
      list.push(label);
      held.set(id, list);
    }
  }
  subtrees.sort(byCodeUnit);
  return {
    subtrees,
    of(id: number): Coverage {
      if (!holdsAny.has(id)) return { kind: 'none' };
      const mine = held.get(id) ?? [];
      if (mine.length === subtrees.length) return { kind: 'full' };
      if (mine.length === 0) return { kind: 'none' };
      return { kind: 'partial', subtrees: [...mine].sort(byCodeUnit) };
    },
  };
}
