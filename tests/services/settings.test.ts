/** The settings service's words and rules: every setting labelled and described; all-or-nothing with audit rows. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SettingsChange } from '../../src/db/entities';
import { loadSettings } from '../../src/db/settings-store';
import { SETTING_HELP, SETTING_LABELS } from '../../src/services/setting-labels';
import { changeSettings, describeSettings, SettingsValidationError } from '../../src/services/settings';
import { DEFAULT_SETTINGS, SETTING_KINDS, SETTING_PARSERS } from '../../src/sync/settings';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../helpers/db';
import { createDomain } from '../../src/db/domains';

describe('settings words', () => {
  it('gives every setting a label, a description and a kind (a new setting cannot be forgotten)', () => {
    const keys = Object.keys(DEFAULT_SETTINGS).sort();
    assert.deepEqual(Object.keys(SETTING_PARSERS).sort(), keys);
    for (const table of [SETTING_LABELS, SETTING_HELP, SETTING_KINDS]) assert.deepEqual(Object.keys(table).sort(), keys);
    for (const key of keys) {
      assert.ok(SETTING_LABELS[key as keyof typeof SETTING_LABELS].trim(), `${key} has a label`);
      assert.ok(SETTING_HELP[key as keyof typeof SETTING_HELP].trim(), `${key} has a description`);
    }
    assert.equal(new Set(Object.values(SETTING_LABELS)).size, keys.length, 'labels are unique (tests and scripts find inputs by them)');
    for (const [key, label] of [['notificationEmails', 'Notification emails'], ['timeZone', 'Time zone'], ['unsharedUsers', 'Unshared users'],
      ['unsharedCourses', 'Unshared courses'], ['unsharedEnrollments', 'Unshared enrollments'], ['safetyThresholdPercent', 'Safety threshold (%)']] as const) {
      assert.equal(SETTING_LABELS[key], label);
    }
  });

  it('lists the allowed values of enums from the same lists the parsers check', () => {
    for (const d of describeSettings({ ...DEFAULT_SETTINGS })) {
      if (d.kind.kind !== 'enum') continue;
      for (const v of d.kind.values) assert.doesNotThrow(() => SETTING_PARSERS[d.key](v), `${d.key}=${v}`);
      assert.throws(() => SETTING_PARSERS[d.key]('surely-not'), new RegExp(d.kind.values.join(', ')));
    }
  });
});

for (const kind of databaseKinds()) {
  describe(`changeSettings (${kind})`, () => {
    let db: TestDatabase;
    let domainId: number;
    before(async () => {
      db = await openTestDatabase(kind);
      domainId = (await createDomain(db.ds, { userspace: 'gb', name: 'Grand Bend' })).id;
    });
    after(async () => { await db.close(); });

    it('saves nothing when one field is bad, naming every bad field and its rule', async () => {
      await assert.rejects(
        changeSettings(db.ds, domainId, { unsharedUsers: 'inactive', safetyThresholdPercent: '150', nope: 1, ignoreSisDates: 3 }, 'gb/admin', 'web'),
        (err: unknown) => {
          assert.ok(err instanceof SettingsValidationError);
          assert.deepEqual(err.errors.map((e) => e.field), ['safetyThresholdPercent', 'nope', 'ignoreSisDates']);
          assert.match(err.errors[0].message, /^safetyThresholdPercent must be a whole number from 0 to 100$/);
          assert.match(err.errors[1].message, /unknown setting "nope"/);
          assert.match(err.errors[2].message, /ignoreSisDates must be true or false/);
          return true;
        });
      assert.deepEqual(await loadSettings(db.ds, domainId), { ...DEFAULT_SETTINGS });
      assert.equal(await db.ds.getRepository(SettingsChange).count(), 0);
      await assert.rejects(changeSettings(db.ds, domainId, { safetyThresholdPercent: '' }, 'gb/admin', 'web'), /whole number/, 'an empty field is not 0');
    });

    it('records one row per changed setting with who, via, and the values before and after as JSON', async () => {
      const r = await changeSettings(db.ds, domainId, { unsharedUsers: 'inactive', notificationEmails: ['a@x.org'], safetyThresholdPercent: 25, timeZone: 'UTC' }, 'gb/admin', 'api');
      assert.deepEqual(r.changed, ['unsharedUsers', 'notificationEmails', 'safetyThresholdPercent'], 'timeZone was UTC already');
      const rows = await db.ds.getRepository(SettingsChange).find({ order: { id: 'ASC' } });
      assert.deepEqual(rows.map((c) => [c.changedBy, c.via, c.setting, c.oldValue, c.newValue]), [
        ['gb/admin', 'api', 'unsharedUsers', '"nothing"', '"inactive"'],
        ['gb/admin', 'api', 'notificationEmails', '[]', '["a@x.org"]'],
        ['gb/admin', 'api', 'safetyThresholdPercent', '10', '25'],
      ]);
      assert.deepEqual(await loadSettings(db.ds, domainId), { ...DEFAULT_SETTINGS, unsharedUsers: 'inactive', notificationEmails: ['a@x.org'], safetyThresholdPercent: 25 });
    });
  });
}
