/**
 * What a bench part must undo when it is interrupted (Ctrl-C): kill its servers, remove temporary
 * accounts and files. Parts register a cleanup while they run; `runInterruptCleanups` runs them all.
 */
const cleanups = new Set<() => void>();

/** Registers a cleanup; call the returned function when the part finished normally. */
export function onInterrupt(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  return () => { cleanups.delete(cleanup); };
}

export function runInterruptCleanups(): void {
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch {
      // best effort
    }
  }
  cleanups.clear();
}
