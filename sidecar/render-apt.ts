// The text list apt's mirror method reads (`deb mirror+http://host/debian.list stable main`): one base URL per
// line, best first; apt appends "dists/..." and "pool/..." to it and tries the next line when a mirror fails. Pure.
//
// Each line carries "priority:N" after a tab (apt >= 1.6, 2018; apt-transport-mirror(1)): without it apt picks
// the mirrors in random order, and the client's best mirror would be no more likely than one on another continent.

/** One line per URL, duplicates dropped, each ending in "/" so that apt's appended path joins cleanly. */
export function renderAptList(baseUrls: string[]): string {
  const seen = new Set<string>();
  let out = '';
  for (const u of baseUrls) {
    const url = u.endsWith('/') ? u : `${u}/`;
    if (seen.has(url)) continue;
    seen.add(url);
    out += `${url}\tpriority:${seen.size}\n`;
  }
  return out;
}
