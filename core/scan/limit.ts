// Bounded concurrency for the scanners' network requests (directory pages, HEAD, MDTM, range checks).

/**
 * Run `fn` on every item with at most `limit` calls in flight. The first failure stops new calls and is thrown
 * once the calls in flight have settled, so nothing keeps running behind the caller's back.
 */
export async function runLimited<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  let error: unknown;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        await fn(items[i], i);
      } catch (e) {
        if (!failed) error = e;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed) throw error;
}
