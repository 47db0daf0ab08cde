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

/** What kind of value a setting takes: forms pick their input from it, the API its JSON type. */
export type SettingKind =
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'boolean' }
  | { kind: 'integer'; min: number; max: number }
  | { kind: 'emails' }
  | { kind: 'timeZone' }
  | { kind: 'text'; maxLength: number };

const UNSHARED_COURSES: readonly UnsharedCourses[] = ['nothing', 'delete'];
const UNSHARED_ENROLLMENTS: readonly UnsharedEnrollments[] = ['nothing', 'inactive', 'withdrawn', 'delete'];
const UNSHARED_USERS: readonly UnsharedUsers[] = ['nothing', 'inactive', 'delete'];
const THRESHOLD = { min: 0, max: 100 };

const BOOLEAN: SettingKind = { kind: 'boolean' };
const ROLE: SettingKind = { kind: 'text', maxLength: 64 };

/** The kind of every setting (Record: a new setting cannot be left out). The parsers below use the same lists. */
export const SETTING_KINDS: Record<keyof SyncSettings, SettingKind> = {
  timeZone: { kind: 'timeZone' },
  notificationEmails: { kind: 'emails' },
  orgBaseCourses: BOOLEAN,
  teacherBaseCourses: BOOLEAN,
  termBaseCourses: BOOLEAN,
  unsharedCourses: { kind: 'enum', values: UNSHARED_COURSES },
  teacherRole: ROLE,
  studentRole: ROLE,
  administratorRole: ROLE,
  proctorRole: ROLE,
  unsharedEnrollments: { kind: 'enum', values: UNSHARED_ENROLLMENTS },
  ignoreSisDates: BOOLEAN,
  unsharedUsers: { kind: 'enum', values: UNSHARED_USERS },
  safetyThresholdPercent: { kind: 'integer', ...THRESHOLD },
  autoCommit: { kind: 'boolean' },
};

const oneOf = <T extends string>(values: readonly T[]) => (raw: string): T => {
  if (!(values as readonly string[]).includes(raw)) throw new Error(`must be one of ${values.join(', ')}`);
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
  unsharedCourses: oneOf(UNSHARED_COURSES),
  teacherRole: role,
  studentRole: role,
  administratorRole: role,
  proctorRole: role,
  unsharedEnrollments: oneOf(UNSHARED_ENROLLMENTS),
  ignoreSisDates: bool,
  unsharedUsers: oneOf(UNSHARED_USERS),
  safetyThresholdPercent: (raw) => {
    const n = Number(raw);
    if (!/^\s*-?\d+\s*$/.test(raw) || !Number.isInteger(n) || n < THRESHOLD.min || n > THRESHOLD.max) throw new Error(`must be a whole number from ${THRESHOLD.min} to ${THRESHOLD.max}`);
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
