import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applySetting, DEFAULT_SETTINGS } from '../../src/sync/settings';

test('settings parse and validate, and never allow granting Administrator', () => {
  const s = applySetting({ ...DEFAULT_SETTINGS }, 'timeZone', 'America/Chicago');
  assert.equal(s.timeZone, 'America/Chicago');
  assert.equal(DEFAULT_SETTINGS.timeZone, 'UTC', 'defaults are not mutated');
  assert.deepEqual(applySetting(s, 'notificationEmails', 'a@x.org, b@y.org').notificationEmails, ['a@x.org', 'b@y.org']);
  assert.equal(applySetting(s, 'teacherBaseCourses', 'yes').teacherBaseCourses, true);
  assert.throws(() => applySetting(s, 'timeZone', 'Mars/Olympus'), /IANA/);
  assert.throws(() => applySetting(s, 'unsharedUsers', 'withdrawn'), /nothing, inactive, delete/);
  assert.throws(() => applySetting(s, 'studentRole', 'administrator'), /never grants/);
  assert.throws(() => applySetting(s, 'safetyThresholdPercent', '150'), /0 to 100/);
  assert.throws(() => applySetting(s, 'safetyThresholdPercent', '12.5'), /whole number/);
  assert.equal(applySetting(s, 'safetyThresholdPercent', '25').safetyThresholdPercent, 25);
  assert.throws(() => applySetting(s, 'nope', '1'), /unknown setting "nope"/);
});
