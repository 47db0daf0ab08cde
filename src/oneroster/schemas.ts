/**
 * The 13 OneRoster 1.1 data-file layouts (OneRoster 1.1 CSV specification §3-4): exact header names
 * in order, required flags and the kind of value each column holds. Header names, order and
 * enumeration tokens are case-sensitive, so every string here is copied verbatim.
 */
import type { ColumnKind, ColumnSpec, DataFile, FileSchema } from './types';
import { DATA_FILES } from './types';

export const MANIFEST_HEADER = ['propertyName', 'value'] as const;
export const MANIFEST_FILE_NAME = 'manifest.csv';
/** Extension columns must carry this prefix and come after the defined columns. */
export const METADATA_PREFIX = 'metadata.';

// §4 enumerations
export const STATUS_VALUES = ['active', 'tobedeleted'] as const;
export const FILE_MODES = ['bulk', 'delta', 'absent'] as const;
export const BOOL_VALUES = ['true', 'false'] as const;
export const SESSION_TYPES = ['gradingPeriod', 'semester', 'schoolYear', 'term'] as const;
export const CLASS_TYPES = ['homeroom', 'scheduled'] as const;
export const ORG_TYPES = ['department', 'school', 'district', 'local', 'state', 'national'] as const;
export const USER_ROLES = [
  'administrator', 'aide', 'guardian', 'parent', 'proctor', 'relative', 'student', 'teacher',
] as const;
/** The CSV binding allows only these four in enrollments.role (§3.8). */
export const ENROLLMENT_ROLES = ['administrator', 'proctor', 'student', 'teacher'] as const;
export const SEX_VALUES = ['male', 'female'] as const;
export const IMPORTANCE_VALUES = ['primary', 'secondary'] as const;
export const SCORE_STATUSES = [
  'exempt', 'fully graded', 'not submitted', 'partially graded', 'submitted',
] as const;
/** CEDS v5 Entry Grade Level codes (§4.9). */
export const GRADE_CODES = [
  'IT', 'PR', 'PK', 'TK', 'KG', '01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '11',
  '12', '13', 'PS', 'UG', 'Other',
] as const;

function col(name: string, required: boolean, kind: ColumnKind, values?: readonly string[]): ColumnSpec {
  return values ? { name, required, kind, values } : { name, required, kind };
}

/** The three columns every data file starts with; their bulk/delta rules live in validate-row. */
const COMMON: readonly ColumnSpec[] = [
  col('sourcedId', true, 'sourcedId'),
  col('status', false, 'status', STATUS_VALUES),
  col('dateLastModified', false, 'datetime'),
];

const req = true;
const opt = false;

const COLUMNS: Record<DataFile, readonly ColumnSpec[]> = {
  academicSessions: [
    col('title', req, 'string'),
    col('type', req, 'enum', SESSION_TYPES),
    col('startDate', req, 'date'),
    col('endDate', req, 'date'),
    col('parentSourcedId', opt, 'ref'),
    col('schoolYear', req, 'year'),
  ],
  categories: [
    col('title', req, 'string'),
  ],
  classes: [
    col('title', req, 'string'),
    col('grades', opt, 'grades'),
    col('courseSourcedId', req, 'ref'),
    col('classCode', opt, 'string'),
    col('classType', req, 'enum', CLASS_TYPES),
    col('location', opt, 'string'),
    col('schoolSourcedId', req, 'ref'),
    col('termSourcedIds', req, 'refList'),
    col('subjects', opt, 'stringList'),
    col('subjectCodes', opt, 'stringList'),
    col('periods', opt, 'stringList'),
  ],
  classResources: [
    col('title', opt, 'string'),
    col('classSourcedId', req, 'ref'),
    col('resourceSourcedId', req, 'ref'),
  ],
  courses: [
    col('schoolYearSourcedId', opt, 'ref'),
    col('title', req, 'string'),
    col('courseCode', opt, 'string'),
    col('grades', opt, 'grades'),
    col('orgSourcedId', req, 'ref'),
    col('subjects', opt, 'stringList'),
    col('subjectCodes', opt, 'stringList'),
  ],
  courseResources: [
    col('title', opt, 'string'),
    col('courseSourcedId', req, 'ref'),
    col('resourceSourcedId', req, 'ref'),
  ],
  demographics: [
    col('birthDate', opt, 'date'),
    col('sex', opt, 'enum', SEX_VALUES),
    col('americanIndianOrAlaskaNative', opt, 'bool'),
    col('asian', opt, 'bool'),
    col('blackOrAfricanAmerican', opt, 'bool'),
    col('nativeHawaiianOrOtherPacificIslander', opt, 'bool'),
    col('white', opt, 'bool'),
    col('demographicRaceTwoOrMoreRaces', opt, 'bool'),
    col('hispanicOrLatinoEthnicity', opt, 'bool'),
    col('countryOfBirthCode', opt, 'string'),
    col('stateOfBirthAbbreviation', opt, 'string'),
    col('cityOfBirth', opt, 'string'),
    col('publicSchoolResidenceStatus', opt, 'string'),
  ],
  enrollments: [
    col('classSourcedId', req, 'ref'),
    col('schoolSourcedId', req, 'ref'),
    col('userSourcedId', req, 'ref'),
    col('role', req, 'enum', ENROLLMENT_ROLES),
    col('primary', opt, 'bool'),
    col('beginDate', opt, 'date'),
    col('endDate', opt, 'date'),
  ],
  // §3.9: readers tolerate blanks in dueDate, gradingPeriodSourcedId and resultValueMax.
  lineItems: [
    col('title', req, 'string'),
    col('description', opt, 'string'),
    col('assignDate', req, 'date'),
    col('dueDate', opt, 'date'),
    col('classSourcedId', req, 'ref'),
    col('categorySourcedId', req, 'ref'),
    col('gradingPeriodSourcedId', opt, 'ref'),
    col('resultValueMin', req, 'float'),
    col('resultValueMax', opt, 'float'),
  ],
  orgs: [
    col('name', req, 'string'),
    col('type', req, 'enum', ORG_TYPES),
    col('identifier', opt, 'string'),
    col('parentSourcedId', opt, 'ref'),
  ],
  resources: [
    col('vendorResourceId', req, 'string'),
    col('title', opt, 'string'),
    // a list of user-role tokens; validate-row checks each item against `values`
    col('roles', opt, 'stringList', USER_ROLES),
    col('importance', opt, 'enum', IMPORTANCE_VALUES),
    col('vendorId', opt, 'string'),
    col('applicationId', opt, 'string'),
  ],
  results: [
    col('lineItemSourcedId', req, 'ref'),
    col('studentSourcedId', req, 'ref'),
    col('scoreStatus', req, 'enum', SCORE_STATUSES),
    col('score', req, 'float'),
    col('scoreDate', req, 'date'),
    col('comment', opt, 'string'),
  ],
  users: [
    col('enabledUser', req, 'bool'),
    col('orgSourcedIds', req, 'refList'),
    col('role', req, 'enum', USER_ROLES),
    col('username', req, 'string'),
    col('userIds', opt, 'userIds'),
    col('givenName', req, 'string'),
    col('familyName', req, 'string'),
    col('middleName', opt, 'string'),
    col('identifier', opt, 'string'),
    col('email', opt, 'string'),
    col('sms', opt, 'string'),
    col('phone', opt, 'string'),
    col('agentSourcedIds', opt, 'refList'),
    col('grades', opt, 'grades'),
    col('password', opt, 'string'),
  ],
};

export const SCHEMAS: Record<DataFile, FileSchema> = buildSchemas();

function buildSchemas(): Record<DataFile, FileSchema> {
  const out = {} as Record<DataFile, FileSchema>;
  for (const file of DATA_FILES) out[file] = { file, fileName: `${file}.csv`, columns: [...COMMON, ...COLUMNS[file]] };
  return out;
}

/** The data file a zip entry name stands for, e.g. "users.csv" → "users"; null if none. */
export function dataFileForName(fileName: string): DataFile | null {
  if (!fileName.endsWith('.csv')) return null;
  const base = fileName.slice(0, -4);
  return (DATA_FILES as readonly string[]).includes(base) ? (base as DataFile) : null;
}

/** All file names a OneRoster 1.1 zip may hold at its root. */
export const ONEROSTER_FILE_NAMES: readonly string[] = [MANIFEST_FILE_NAME, ...DATA_FILES.map((f) => `${f}.csv`)];

/** 0-based position of a defined column; throws for a name the schema lacks (a programming error). */
export function columnIndex(schema: FileSchema, name: string): number {
  const i = schema.columns.findIndex((c) => c.name === name);
  if (i < 0) throw new Error(`${schema.fileName} has no column "${name}"`);
  return i;
}

/** The header line exactly as OneRoster 1.1 defines it, e.g. for messages and generated files. */
export function headerLine(schema: FileSchema): string {
  return schema.columns.map((c) => c.name).join(',');
}
