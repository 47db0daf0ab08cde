/**
 * Issue 17 #1: a connection that pipelines commands without reading the replies. Stock handling
 * queued every line it read (a 32 MB flood of `HELP` grew the daemon from 194 MB to 2.5 GB, and
 * other domains' commands waited 6–21 s). The daemon must stop reading such a client, keep its
 * memory to a small fixed amount per connection, answer everyone else at once, and close the
 * flooder with its timers. Real daemon in a child process, raw sockets (no real client floods).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { measureCommandFlood } from '../helpers/command-flood';
import { tempDir } from '../helpers/zip';

const FLOOD_BYTES = 32 * 1024 * 1024;
/**
 * What the daemon may grow by, whatever the flood's size. A connection holds at most ~100 KB of
 * unread input; the rest is V8's young generation, which grows to its maximum (2 × 16 MB
 * semi-spaces) under the burst of short-lived replies: measured ~22 MB for 8 MB and 32 MB floods
 * alike, 4 MB with --max-semi-space-size=1. The old queue grew by 1.3 GB and more.
 */
const GROWTH_LIMIT_MB = 48;

describe('command flood without reading replies (issue 17 #1)', () => {
  it('bounds the daemon\'s memory, keeps answering another tenant, and closes the flooder', { timeout: 180_000 }, async () => {
    const dir = tempDir('rosterdrop-flood-');
    try {
      const r = await measureCommandFlood({
        dataDir: dir.dir, bytes: FLOOD_BYTES, loginTimeoutS: 10, probes: 20,
        // twice the allowed growth: a daemon that keeps the flood is stopped before it eats the machine
        abortGrowthMB: 2 * GROWTH_LIMIT_MB,
      });
      const figures = JSON.stringify({ ...r, noopMs: { calibrationMax: Math.max(...r.noopMs.calibration), floodMax: Math.max(...r.noopMs.flood), probes: r.noopMs.flood.length } });
      const growth = r.memory.peakRssMB - r.memory.rssBeforeMB;
      assert.ok(!r.aborted && growth < GROWTH_LIMIT_MB, `the daemon grew ${growth.toFixed(0)} MB under a ${r.floodMB} MB flood: ${figures}`);
      assert.ok(r.memory.hwmAfterMB - Math.max(r.memory.hwmBeforeMB, r.memory.rssBeforeMB) < GROWTH_LIMIT_MB, `peak RSS rose: ${figures}`);
      assert.ok(r.closedByServer, `the daemon must close a client that never reads its replies (login timeout): ${figures}`);
      // The issue asks for no reply to another tenant slower than 1 s; on a machine where even an
      // unflooded NOOP is slower than 100 ms, the bound widens to 10 times the slowest of those.
      const limit = Math.max(1000, 10 * Math.max(...r.noopMs.calibration));
      assert.ok(r.noopMs.flood.length >= 5, `another tenant's NOOPs during the flood: ${figures}`);
      assert.ok(Math.max(...r.noopMs.flood) <= limit, `another tenant's NOOP took over ${limit.toFixed(0)} ms during the flood: ${figures}`);
      // and nothing stays or keeps growing after the flooder is gone
      assert.ok(r.memory.rssAfterMB - r.memory.rssBeforeMB < GROWTH_LIMIT_MB, `memory after the flood: ${figures}`);
      assert.ok(Math.max(...r.noopMs.after) <= limit, `NOOP after the flood: ${figures}`);
    } finally {
      dir.cleanup();
    }
  });
});
