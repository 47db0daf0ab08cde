/**
 * What the daemon says at start about a set-up that cannot work as meant: a `ROSTERDROP_*` variable
 * that is no setting (with the closest real one), and a database where no administrator can log in
 * (after `domain add` on a fresh database, which stops the demo domain from being made).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { childEnv, runCli } from '../cli/harness';
import { freePort, startServe } from '../helpers/daemon';
import { tempDir } from '../helpers/zip';

describe('daemon start-up warnings', () => {
  const tmp = tempDir('rosterdrop-warn-');
  let env: NodeJS.ProcessEnv;
  before(async () => {
    env = childEnv({ ROSTERDROP_DATA_DIR: tmp.dir, ROSTERDROP_FTPS_PORT: '0', ROSTERDROP_HTTP_PORT: '0', NODE_ENV: 'production' });
    const pasv = await freePort();
    Object.assign(env, { ROSTERDROP_FTPS_PASV_MIN: String(pasv), ROSTERDROP_FTPS_PASV_MAX: String(pasv) });
  });
  after(() => tmp.cleanup());

  async function startAndStop(extra: NodeJS.ProcessEnv): Promise<Array<Record<string, unknown>>> {
    const daemon = startServe({ ...env, ...extra });
    await daemon.waitFor(/^rosterdrop is running$/);
    daemon.child.kill('SIGTERM');
    assert.equal(await daemon.exited, 0);
    return daemon.lines;
  }

  it('warns about a mistyped variable, naming the closest setting, and starts anyway', async () => {
    const lines = await startAndStop({ ROSTERDROP_FTPS_PASV_MAXX: '1' });
    const warning = lines.find((l) => l.variable === 'ROSTERDROP_FTPS_PASV_MAXX');
    assert.ok(warning, JSON.stringify(lines));
    assert.equal(warning.level, 'warn');
    assert.equal(warning.closest, 'ROSTERDROP_FTPS_PASV_MAX');
    assert.match(String(warning.message), /^ROSTERDROP_FTPS_PASV_MAXX is not a rosterdrop setting and is ignored \(did you mean ROSTERDROP_FTPS_PASV_MAX\?\)$/);
    // the demo domain made on that first start has an administrator: no warning about logins
    assert.ok(!lines.some((l) => /no administrator can log in/.test(String(l.message))));
  });

  it('says so when no administrator can log in, and stops saying it once one can', async () => {
    const revoke = await runCli(env, ['user', 'revoke-admin', 'demo/admin']);
    assert.equal(revoke.code, 0, revoke.stderr);
    const lines = await startAndStop({});
    const warning = lines.find((l) => /no administrator can log in/.test(String(l.message)));
    assert.equal(warning?.level, 'warn', JSON.stringify(lines));
    assert.match(String(warning?.message), /rosterdrop user add <userspace>\/<username> --admin --password-stdin/);

    const grant = await runCli(env, ['user', 'grant-admin', 'demo/admin']);
    assert.equal(grant.code, 0, grant.stderr);
    assert.ok(!(await startAndStop({})).some((l) => /no administrator can log in/.test(String(l.message))));
  });
});
