/**
 * A domain's sync settings as plain data, with defaults and validation. Pure: the CLI and the
 * engine use it; src/db/settings-store.ts moves it in and out of the database.
 */
import { IANAZone } from 'luxon';
import type { UnsharedCourses, UnsharedEnrollments, UnsharedUsers } from '../db/entities/sync-settings';

export interface SyncSettings {
  timeZone: string;
  notificationEmails: string[];
  orgBaseCourses: boolean;
  teacherBaseCourses: boolean;
  termBaseCourses: boolean;
  unsharedCourses: UnsharedCourses;
  teacherRole: string;
  studentRole: string;
  administratorRole: string;
  proctorRole: string;
  unsharedEnrollments: UnsharedEnrollments;
  ignoreSisDates: boolean;
  unsharedUsers: UnsharedUsers;
  safetyThresholdPercent: number;
  /** false: every sync that would change something is held for an administrator's review */
  autoCommit: boolean;
}

export const DEFAULT_SETTINGS: Readonly<SyncSettings> = Object.freeze({
  timeZone: 'UTC',
  notificationEmails: [],
  orgBaseCourses: false,
  teacherBaseCourses: false,
  termBaseCourses: false,
  unsharedCourses: 'nothing',
  teacherRole: 'Teacher',
  studentRole: 'Student',
  administratorRole: 'Teacher',
  proctorRole: 'Teacher',
  unsharedEnrollments: 'nothing',
  ignoreSisDates: false,
  unsharedUsers: 'nothing',
  safetyThresholdPercent: 10,
  autoCommit: true,
});

type Parser = (raw: string) => SyncSettings[keyof SyncSettings];

const oneOf = <T extends string>(...values: T[]) => (raw: string): T => {
  if (!(values as string[]).includes(raw)) throw new Error(`must be one of ${values.join(', ')}`);
  return raw as T;
};
const bool = (raw: string): boolean => {
  if (['true', 'yes', 'on', '1'].includes(raw)) return true;
  if (['false', 'no', 'off', '0'].includes(raw)) return false;
  throw new Error('must be true or false');
};
const role = (raw: string): string => {
  const v = raw.trim();
  if (!v || v.length > 64) throw new Error('must be an LMS role name of 1-64 characters');
  if (v.toLowerCase() === 'administrator') throw new Error('a sync never grants the Administrator role');
  return v;
};
const EMAIL = /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/;

/** How each setting is parsed from text (CLI `settings set key value`). */
export const SETTING_PARSERS: Record<keyof SyncSettings, Parser> = {
  timeZone: (raw) => {
    if (!IANAZone.isValidZone(raw)) throw new Error('must be an IANA time zone such as America/Chicago');
    return raw;
  },
  notificationEmails: (raw) => {
    const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
    for (const e of list) if (!EMAIL.test(e)) throw new Error(`"${e}" is not an email address`);
    return list;
  },
  orgBaseCourses: bool,
  teacherBaseCourses: bool,
  termBaseCourses: bool,
  unsharedCourses: oneOf('nothing', 'delete'),
  teacherRole: role,
  studentRole: role,
  administratorRole: role,
  proctorRole: role,
  unsharedEnrollments: oneOf('nothing', 'inactive', 'withdrawn', 'delete'),
  ignoreSisDates: bool,
  unsharedUsers: oneOf('nothing', 'inactive', 'delete'),
  safetyThresholdPercent: (raw) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 100) throw new Error('must be a whole number from 0 to 100');
    return n;
  },
  autoCommit: bool,
};

export function isSettingKey(key: string): key is keyof SyncSettings {
  return Object.prototype.hasOwnProperty.call(SETTING_PARSERS, key);
}

/** Returns a copy with one setting changed; throws with a readable reason on a bad value. */
export function applySetting(settings: SyncSettings, key: string, raw: string): SyncSettings {
  if (!isSettingKey(key)) throw new Error(`unknown setting "${key}"; known: ${Object.keys(SETTING_PARSERS).join(', ')}`);
  try {
    return { ...settings, [key]: SETTING_PARSERS[key](raw) };
  } catch (err) {
    throw new Error(`${key} ${(err as Error).message}`);
  }
}
