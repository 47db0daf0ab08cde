/**
 * `npm start` runs the daemon as npm's child. The start script `exec`s node, so that there is no
 * shell between them: npm passes a SIGTERM on to its child, where a shell in between died and left
 * the daemon running and holding its ports. When npm itself is killed outright (SIGKILL, a crash)
 * nothing is passed on, so a daemon that npm launched also watches its parent and stops, as on
 * SIGTERM, once it is gone (re-parented). Started any other way (systemd, a shell, `nohup`),
 * nothing is watched: a daemon must outlive the shell that started it.
 */

/** The pid of the npm process that launched this one, or null when npm did not. */
export function npmLauncher(env: NodeJS.ProcessEnv): number | null {
  return env.npm_lifecycle_event ? process.ppid : null;
}

/** Calls `onGone` once when the parent `launcher` has exited; returns a function that stops watching. */
export function watchLauncher(launcher: number, onGone: () => void, everyMs = 1000): () => void {
  const timer = setInterval(() => {
    if (process.ppid === launcher) return;
    clearInterval(timer);
    onGone();
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
