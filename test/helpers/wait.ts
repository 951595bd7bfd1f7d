// Polling for something that happens asynchronously (a NOTIFY reaching the sidecar, a flush), bounded in time.

export async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 3000, stepMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
