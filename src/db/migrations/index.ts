import { InitialSchema1795392000000 } from './1795392000000-InitialSchema';
import { UploadQueue1795478400000 } from './1795478400000-UploadQueue';
import { PasswordResume1795651200000 } from './1795651200000-PasswordResume';
import { HotUpdates1795737600000 } from './1795737600000-HotUpdates';
import { AcademicSessions1795824000000 } from './1795824000000-AcademicSessions';
import { KeptRosterRecords1795910400000 } from './1795910400000-KeptRosterRecords';
import { ExternalIdHashIndexes1795996800000 } from './1795996800000-ExternalIdHashIndexes';
import { DurableReports1796169600000 } from './1796169600000-DurableReports';
import { HeldRuns1796256000000 } from './1796256000000-HeldRuns';
import { WebAdmin1796342400000 } from './1796342400000-WebAdmin';

/** Every migration, oldest first. Listed explicitly so the compiled bundle needs no glob. */
export const MIGRATIONS = [
  InitialSchema1795392000000, UploadQueue1795478400000, PasswordResume1795651200000, HotUpdates1795737600000, AcademicSessions1795824000000,
  KeptRosterRecords1795910400000, ExternalIdHashIndexes1795996800000, DurableReports1796169600000, HeldRuns1796256000000,
  WebAdmin1796342400000,
];
