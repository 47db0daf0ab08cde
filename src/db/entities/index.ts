import { AcademicSession } from './academic-session';
import { Course } from './course';
import { Domain } from './domain';
import { Enrollment } from './enrollment';
import { HeldRemoval } from './held-removal';
import { ObserverLink } from './observer-link';
import { OneRosterClass } from './oneroster-class';
import { OneRosterCourse } from './oneroster-course';
import { SyncIssueRow } from './sync-issue';
import { SyncRun } from './sync-run';
import { SyncSettingsRow } from './sync-settings';
import { User } from './user';
import { ApiToken } from './api-token';
import { SettingsChange } from './settings-change';
import { WebSession } from './web-session';

export { AcademicSession, Course, Domain, Enrollment, HeldRemoval, ObserverLink, OneRosterClass, OneRosterCourse, SyncIssueRow, SyncRun, SyncSettingsRow, User, ApiToken, SettingsChange, WebSession };
export const ENTITIES = [Domain, User, Course, Enrollment, ObserverLink, SyncSettingsRow, SyncRun, SyncIssueRow, AcademicSession, OneRosterCourse, OneRosterClass,
  WebSession, ApiToken, SettingsChange, HeldRemoval];
