/**
 * The words for each sync setting: a label for forms and what it means (the CLI's help and the
 * settings page's descriptions). Records keyed by every setting: a new setting does not compile
 * until it has both (tests/services/settings.test.ts checks none is blank).
 */
import type { SyncSettings } from '../sync/settings';

export type SettingKey = keyof SyncSettings;

/** The visible label of each setting's form control (scripts and tests find inputs by it). */
export const SETTING_LABELS: Record<SettingKey, string> = {
  timeZone: 'Time zone',
  notificationEmails: 'Notification emails',
  orgBaseCourses: 'Base course per org',
  teacherBaseCourses: 'Base course per teacher',
  termBaseCourses: 'Base course per term',
  unsharedCourses: 'Unshared courses',
  teacherRole: 'Teacher role',
  studentRole: 'Student role',
  administratorRole: 'Administrator role',
  proctorRole: 'Proctor role',
  unsharedEnrollments: 'Unshared enrollments',
  ignoreSisDates: 'Ignore SIS dates',
  unsharedUsers: 'Unshared users',
  safetyThresholdPercent: 'Safety threshold (%)',
  autoCommit: 'Auto commit',
};

/** What each setting means and accepts. */
export const SETTING_HELP: Record<SettingKey, string> = {
  timeZone: 'IANA time zone for course and enrollment dates, e.g. America/Chicago',
  notificationEmails: 'comma-separated addresses that get a report after every sync ("" for none)',
  orgBaseCourses: 'create a base course per org: true | false',
  teacherBaseCourses: 'create a base course per primary teacher and course: true | false',
  termBaseCourses: 'create a base course per teacher, course and term: true | false',
  unsharedCourses: 'managed courses missing from the file: nothing | delete',
  teacherRole: 'LMS role given to teachers',
  studentRole: 'LMS role given to students',
  administratorRole: 'LMS role given to enrolled administrators',
  proctorRole: 'LMS role given to proctors',
  unsharedEnrollments: 'managed enrollments missing from the file: nothing | inactive | withdrawn | delete',
  ignoreSisDates: 'ignore the begin and end dates of enrollments: true | false',
  unsharedUsers: 'managed users missing from the file: nothing | inactive | delete',
  safetyThresholdPercent: 'hold for review a sync removing more than this % of managed users, courses or enrollments (0-100)',
  autoCommit: 'apply syncs at once: true | false (false: every sync that would change something is held until approved)',
};
