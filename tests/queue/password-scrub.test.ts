/**
 * What the archive keeps of an upload that carries passwords: the same zip without users.csv's
 * password column (every other file byte for byte, every other field as it was, quoted fields with
 * commas and line breaks included); a zip with nothing to leave out is left alone.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { writeWithoutPasswords } from '../../src/queue/password-scrub';
import { standardRoster } from '../helpers/roster';
import { makeZip, tempDir, zipContents } from '../helpers/zip';

describe('an archived copy without passwords', () => {
  const tmp = tempDir('rosterdrop-scrub-');
  after(() => tmp.cleanup());

  it('leaves out users.csv\'s password column and nothing else', async () => {
    const roster = standardRoster(3);
    roster.set('users', 's1', { password: 'Secret, with a comma', givenName: 'Line\nbreak "quoted"' });
    roster.set('users', 's2', { password: 'Plain-Secret-2' });
    const zip = await roster.zip(tmp.dir, 'with.zip');
    const out = path.join(tmp.dir, 'archive', 'with.zip');
    assert.equal(await writeWithoutPasswords(zip, out), true);

    const before = await zipContents(zip);
    const after = await zipContents(out);
    assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort());
    for (const [name, content] of before) if (name !== 'users.csv') assert.ok(after.get(name)?.equals(content), name);
    const users = after.get('users.csv')?.toString('utf8') ?? '';
    assert.ok(!/Secret/.test(users), 'no password is left');
    const header = roster.csv('users').split(/\r?\n/)[0].split(',');
    assert.equal(users.split('\r\n')[0], header.filter((h) => h !== 'password').join(','));
    assert.ok(users.includes('"Line\nbreak ""quoted"""'), 'a quoted field with a line break and quotes is kept as it was');
    assert.equal(users.trimEnd().split('\r\n').length, before.get('users.csv')!.toString('utf8').trimEnd().split(/\r?\n/).length - 1,
      'one line fewer: the line break inside the quoted field');
    assert.equal((fs.statSync(out).mode & 0o777), 0o640);
  });

  it('writes nothing when there is nothing to leave out: no password column, no users.csv, no zip', async () => {
    const plain = await makeZip(path.join(tmp.dir, 'plain.zip'), { 'users.csv': 'sourcedId,username,passwordHint\nu1,a,none\n' });
    const noUsers = await makeZip(path.join(tmp.dir, 'nousers.zip'), { 'manifest.csv': 'propertyName,value\n' });
    const notZip = path.join(tmp.dir, 'not.zip');
    fs.writeFileSync(notZip, 'password,not a zip');
    for (const file of [plain, noUsers, notZip]) {
      const out = path.join(tmp.dir, 'out', path.basename(file));
      assert.equal(await writeWithoutPasswords(file, out), false, file);
      assert.equal(fs.existsSync(out), false);
    }
    assert.deepEqual(fs.existsSync(path.join(tmp.dir, 'out')) ? fs.readdirSync(path.join(tmp.dir, 'out')) : [], [], 'no temp file left');
  });
});
