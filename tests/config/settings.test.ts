/**
 * Settings: the reference file lists every setting the code reads; the settings file fills in what
 * the environment leaves unset and refuses unknown keys; the daemon's settings validate.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadDaemonSettings } from '../../src/config/daemon';
import { ConfigError } from '../../src/config/ftps';
import { applySettingsFile, closestSetting, KNOWN_SETTINGS, unknownEnvironmentVariables } from '../../src/config/settings-file';
import { REPO_ROOT } from '../helpers/paths';
import { tempDir } from '../helpers/zip';

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(full) : e.name.endsWith('.ts') ? [full] : [];
  });
}

describe('settings', () => {
  it('every setting the code reads is known and in config/rosterdrop.env.example, and nothing else is', () => {
    const read = new Set<string>();
    for (const file of sourceFiles(path.join(REPO_ROOT, 'src'))) {
      for (const m of fs.readFileSync(file, 'utf8').matchAll(/\b(ROSTERDROP_[A-Z0-9_]+|DATABASE_URL|LOG_LEVEL)\b/g)) read.add(m[1]);
    }
    read.delete('ROSTERDROP_CONFIG'); // names the file itself
    const known = new Set<string>(KNOWN_SETTINGS);
    assert.deepEqual([...read].filter((k) => !known.has(k)).sort(), [], 'read by the code but not known');
    const example = fs.readFileSync(path.join(REPO_ROOT, 'config', 'rosterdrop.env.example'), 'utf8');
    const documented = new Set([...example.matchAll(/^#?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
    assert.deepEqual(KNOWN_SETTINGS.filter((k) => !documented.has(k)), [], 'known but not in the example file');
    assert.deepEqual([...documented].filter((k) => !known.has(k)), [], 'in the example file but unknown');
  });

  it('the file fills in what the environment does not set; the environment wins', () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'r.env');
      fs.writeFileSync(file, '# comment\nROSTERDROP_FTPS_PORT=2200\nROSTERDROP_SMTP_HOST="mail.example.org"\nLOG_LEVEL=debug\n');
      const env: NodeJS.ProcessEnv = { ROSTERDROP_CONFIG: file, LOG_LEVEL: 'warn' };
      assert.equal(applySettingsFile(env), file);
      assert.deepEqual([env.ROSTERDROP_FTPS_PORT, env.ROSTERDROP_SMTP_HOST, env.LOG_LEVEL], ['2200', 'mail.example.org', 'warn']);
    } finally {
      cleanup();
    }
  });

  it('refuses unknown keys (naming them) and a named file that is missing; no default file is fine', () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'r.env');
      fs.writeFileSync(file, 'ROSTERDROP_FTPS_PROT=21\nROSTERDROP_SYNC_CONCURRENCY=3\n');
      assert.throws(() => applySettingsFile({ ROSTERDROP_CONFIG: file }), (err: unknown) => err instanceof ConfigError && /unknown setting ROSTERDROP_FTPS_PROT/.test(err.message));
      assert.throws(() => applySettingsFile({ ROSTERDROP_CONFIG: path.join(dir, 'missing.env') }), /cannot read the settings file/);
      assert.equal(fs.existsSync(path.join(REPO_ROOT, 'config', 'rosterdrop.env')) || applySettingsFile({}) === null, true);
    } finally {
      cleanup();
    }
  });

  it('names the closest setting of a mistyped one, in the file and in the environment', () => {
    assert.equal(closestSetting('ROSTERDROP_FTPS_PASV_MAXX'), 'ROSTERDROP_FTPS_PASV_MAX');
    assert.equal(closestSetting('ROSTERDROP_FTPS_LOGIN_TIMEOUT'), 'ROSTERDROP_FTPS_LOGIN_TIMEOUT_S');
    assert.equal(closestSetting('rosterdrop_sync_concurrency'), 'ROSTERDROP_SYNC_CONCURRENCY');
    assert.equal(closestSetting('ROSTERDROP_HOME'), null, 'another name, not a typo');
    const env: NodeJS.ProcessEnv = {
      ROSTERDROP_FTPS_PASV_MAXX: '1', ROSTERDROP_FTPS_PORT: '2121', ROSTERDROP_CONFIG: '/etc/r.env', ROSTERDROP_HOME: '/x', PATH: '/bin',
    };
    assert.deepEqual(unknownEnvironmentVariables(env), [
      { name: 'ROSTERDROP_FTPS_PASV_MAXX', closest: 'ROSTERDROP_FTPS_PASV_MAX' },
      { name: 'ROSTERDROP_HOME', closest: null },
    ]);
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'r.env');
      fs.writeFileSync(file, 'ROSTERDROP_FTPS_PASV_MAXX=1\n');
      assert.throws(() => applySettingsFile({ ROSTERDROP_CONFIG: file }), /unknown setting ROSTERDROP_FTPS_PASV_MAXX \(did you mean ROSTERDROP_FTPS_PASV_MAX\?\)/);
    } finally {
      cleanup();
    }
  });

  it('daemon settings: working defaults, SMTP when a host is set, clear errors', () => {
    const d = loadDaemonSettings({ ROSTERDROP_DATA_DIR: '/srv/rd' });
    assert.deepEqual([d.queueDir, d.archiveDir, d.failedDir, d.mail.outboxDir, d.mail.transport, d.concurrency, d.archiveDays],
      ['/srv/rd/queue', '/srv/rd/archive', '/srv/rd/failed', '/srv/rd/outbox', 'outbox', 2, 30]);
    const smtp = loadDaemonSettings({ ROSTERDROP_SMTP_HOST: 'mail.example.org', ROSTERDROP_SMTP_SECURE: 'true' });
    assert.deepEqual([smtp.mail.transport, smtp.mail.smtp.port, smtp.mail.smtp.requireTLS], ['smtp', 465, false]);
    assert.throws(() => loadDaemonSettings({ ROSTERDROP_MAIL_FROM: 'nobody' }), /ROSTERDROP_MAIL_FROM=nobody/);
    assert.throws(() => loadDaemonSettings({ ROSTERDROP_SYNC_CONCURRENCY: '0' }), /ROSTERDROP_SYNC_CONCURRENCY=0/);
  });

  it('held runs: folder, expiry days (default 7) and the web admin\'s public address for mail links', () => {
    const d = loadDaemonSettings({ ROSTERDROP_DATA_DIR: '/srv/rd' });
    assert.deepEqual([d.heldDir, d.heldDays, d.publicUrl], ['/srv/rd/held', 7, null]);
    const set = loadDaemonSettings({ ROSTERDROP_HELD_DAYS: '3', ROSTERDROP_HTTP_PUBLIC_URL: 'https://lms.example:8443/' });
    assert.deepEqual([set.heldDays, set.publicUrl], [3, 'https://lms.example:8443']);
    assert.equal(loadDaemonSettings({ ROSTERDROP_HTTP_PUBLIC_URL: 'https://lms.example/rosterdrop' }).publicUrl, 'https://lms.example/rosterdrop');
    assert.throws(() => loadDaemonSettings({ ROSTERDROP_HELD_DAYS: '0' }), /ROSTERDROP_HELD_DAYS=0/);
    for (const bad of ['lms.example', 'ftp://lms.example', 'https://lms.example/?a=1', 'https://u:p@lms.example']) {
      assert.throws(() => loadDaemonSettings({ ROSTERDROP_HTTP_PUBLIC_URL: bad }), (e: unknown) => e instanceof ConfigError && e.message.startsWith(`ROSTERDROP_HTTP_PUBLIC_URL=${bad}:`), bad);
    }
  });

  it('web admin: port (0 = off), host, proxy, operators; a bad ROSTERDROP_PG_PARALLEL_WORKERS stops the start', () => {
    const d = loadDaemonSettings({ ROSTERDROP_FTPS_HOST: '10.0.0.5' }).web;
    assert.deepEqual([d.port, d.host, d.trustProxy, d.operators, d.metricsPublic], [8443, '10.0.0.5', false, [], false]);
    const w = loadDaemonSettings({ ROSTERDROP_HTTP_PORT: '0', ROSTERDROP_HTTP_OPERATORS: ' Ops/Alice , ops/bob ', ROSTERDROP_HTTP_TRUST_PROXY: 'true' }).web;
    assert.deepEqual([w.port, w.operators, w.trustProxy], [0, ['ops/alice', 'ops/bob'], true]);
    assert.throws(() => loadDaemonSettings({ ROSTERDROP_HTTP_PORT: 'https' }), (e: unknown) => e instanceof ConfigError && /ROSTERDROP_HTTP_PORT=https/.test(e.message));
    assert.doesNotThrow(() => loadDaemonSettings({ ROSTERDROP_PG_PARALLEL_WORKERS: '0' }));
    assert.throws(() => loadDaemonSettings({ ROSTERDROP_PG_PARALLEL_WORKERS: 'none' }), (e: unknown) => e instanceof ConfigError && /ROSTERDROP_PG_PARALLEL_WORKERS=none/.test(e.message));
  });
});

describe('systemd unit', () => {
  const unit = fs.readFileSync(path.join(REPO_ROOT, 'systemd', 'rosterdrop.service'), 'utf8');
  it('runs as its own user, restarts on failure, is hardened, may bind 21/990, reloads on HUP', () => {
    for (const line of ['User=rosterdrop', 'Restart=on-failure', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ReadWritePaths=/var/lib/rosterdrop',
      'PrivateTmp=yes', 'AmbientCapabilities=CAP_NET_BIND_SERVICE', 'ExecReload=/bin/kill -HUP $MAINPID', 'KillSignal=SIGTERM',
      'Environment=ROSTERDROP_DATA_DIR=/var/lib/rosterdrop']) {
      assert.ok(unit.split('\n').includes(line), line);
    }
    // the stop timeout must outlast the default shutdown grace (300 s)
    assert.ok(Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1]) > 300);
  });

  it('passes systemd-analyze verify (when systemd is on the machine)', async () => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync('systemd-analyze', ['verify', path.join(REPO_ROOT, 'systemd', 'rosterdrop.service')], { encoding: 'utf8' });
    if (r.error) return; // no systemd here: the directive checks above still ran
    assert.equal(r.stderr.trim(), '', r.stderr);
  });
});
