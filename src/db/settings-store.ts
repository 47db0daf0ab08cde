import type { DataSource, EntityManager } from 'typeorm';
import { SyncSettingsRow } from './entities';
import { DEFAULT_SETTINGS, type SyncSettings } from '../sync/settings';

/** `ds` may be a transaction's manager: the row read is then the one the transaction replaces. */
export async function loadSettings(ds: DataSource | EntityManager, domainId: number): Promise<SyncSettings> {
  const row = await ds.getRepository(SyncSettingsRow).findOneBy({ domainId });
  if (!row) return { ...DEFAULT_SETTINGS, notificationEmails: [] };
  return {
    timeZone: row.timeZone,
    notificationEmails: JSON.parse(row.notificationEmails) as string[],
    orgBaseCourses: row.orgBaseCourses,
    teacherBaseCourses: row.teacherBaseCourses,
    termBaseCourses: row.termBaseCourses,
    unsharedCourses: row.unsharedCourses,
    teacherRole: row.teacherRole,
    studentRole: row.studentRole,
    administratorRole: row.administratorRole,
    proctorRole: row.proctorRole,
    unsharedEnrollments: row.unsharedEnrollments,
    ignoreSisDates: row.ignoreSisDates,
    unsharedUsers: row.unsharedUsers,
    safetyThresholdPercent: row.safetyThresholdPercent,
    autoCommit: row.autoCommit,
  };
}

export async function saveSettings(ds: DataSource, domainId: number, settings: SyncSettings): Promise<void> {
  await ds.getRepository(SyncSettingsRow).save({
    domainId,
    ...settings,
    notificationEmails: JSON.stringify(settings.notificationEmails),
  });
}
