import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SCHEMAS, MANIFEST_HEADER, columnIndex, headerLine, dataFileForName } from '../../src/oneroster/schemas';
import { DATA_FILES, type DataFile } from '../../src/oneroster/types';

// Copied verbatim from the OneRoster 1.1 CSV specification §3 (the header code blocks).
const EXPECTED_HEADERS: Record<DataFile, string> = {
  academicSessions: 'sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear',
  categories: 'sourcedId,status,dateLastModified,title',
  classes: 'sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods',
  classResources: 'sourcedId,status,dateLastModified,title,classSourcedId,resourceSourcedId',
  courses: 'sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes',
  courseResources: 'sourcedId,status,dateLastModified,title,courseSourcedId,resourceSourcedId',
  demographics: 'sourcedId,status,dateLastModified,birthDate,sex,americanIndianOrAlaskaNative,asian,blackOrAfricanAmerican,nativeHawaiianOrOtherPacificIslander,white,demographicRaceTwoOrMoreRaces,hispanicOrLatinoEthnicity,countryOfBirthCode,stateOfBirthAbbreviation,cityOfBirth,publicSchoolResidenceStatus',
  enrollments: 'sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate',
  lineItems: 'sourcedId,status,dateLastModified,title,description,assignDate,dueDate,classSourcedId,categorySourcedId,gradingPeriodSourcedId,resultValueMin,resultValueMax',
  orgs: 'sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId',
  resources: 'sourcedId,status,dateLastModified,vendorResourceId,title,roles,importance,vendorId,applicationId',
  results: 'sourcedId,status,dateLastModified,lineItemSourcedId,studentSourcedId,scoreStatus,score,scoreDate,comment',
  users: 'sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password',
};

// The "Req = Yes" columns of each §3 table (sourcedId included; status/dateLastModified never).
const EXPECTED_REQUIRED: Record<DataFile, string[]> = {
  academicSessions: ['sourcedId', 'title', 'type', 'startDate', 'endDate', 'schoolYear'],
  categories: ['sourcedId', 'title'],
  classes: ['sourcedId', 'title', 'courseSourcedId', 'classType', 'schoolSourcedId', 'termSourcedIds'],
  classResources: ['sourcedId', 'classSourcedId', 'resourceSourcedId'],
  courses: ['sourcedId', 'title', 'orgSourcedId'],
  courseResources: ['sourcedId', 'courseSourcedId', 'resourceSourcedId'],
  demographics: ['sourcedId'],
  enrollments: ['sourcedId', 'classSourcedId', 'schoolSourcedId', 'userSourcedId', 'role'],
  // §3.9: readers tolerate blank dueDate, gradingPeriodSourcedId and resultValueMax
  lineItems: ['sourcedId', 'title', 'assignDate', 'classSourcedId', 'categorySourcedId', 'resultValueMin'],
  orgs: ['sourcedId', 'name', 'type'],
  resources: ['sourcedId', 'vendorResourceId'],
  results: ['sourcedId', 'lineItemSourcedId', 'studentSourcedId', 'scoreStatus', 'score', 'scoreDate'],
  users: ['sourcedId', 'enabledUser', 'orgSourcedIds', 'role', 'username', 'givenName', 'familyName'],
};

test('all 13 data files have a schema with the exact OneRoster 1.1 header, in order', () => {
  assert.deepEqual(Object.keys(SCHEMAS).sort(), [...DATA_FILES].sort());
  for (const file of DATA_FILES) {
    const schema = SCHEMAS[file];
    assert.equal(schema.file, file);
    assert.equal(schema.fileName, `${file}.csv`);
    assert.equal(schema.columns.map((c) => c.name).join(','), EXPECTED_HEADERS[file], file);
    assert.equal(headerLine(schema), EXPECTED_HEADERS[file]);
  }
});

test('required flags match the reference tables', () => {
  for (const file of DATA_FILES) {
    const required = SCHEMAS[file].columns.filter((c) => c.required).map((c) => c.name);
    assert.deepEqual(required, EXPECTED_REQUIRED[file], file);
  }
});

test('every file starts with sourcedId, status, dateLastModified of the right kinds', () => {
  for (const file of DATA_FILES) {
    const [id, status, modified] = SCHEMAS[file].columns;
    assert.deepEqual([id.kind, status.kind, modified.kind], ['sourcedId', 'status', 'datetime'], file);
    assert.deepEqual(status.values, ['active', 'tobedeleted']);
  }
});

test('enumerations carry their exact, case-sensitive tokens', () => {
  const values = (file: DataFile, name: string): readonly string[] | undefined =>
    SCHEMAS[file].columns[columnIndex(SCHEMAS[file], name)].values;
  assert.deepEqual(values('academicSessions', 'type'), ['gradingPeriod', 'semester', 'schoolYear', 'term']);
  assert.deepEqual(values('classes', 'classType'), ['homeroom', 'scheduled']);
  assert.deepEqual(values('orgs', 'type'), ['department', 'school', 'district', 'local', 'state', 'national']);
  assert.deepEqual(values('users', 'role'), ['administrator', 'aide', 'guardian', 'parent', 'proctor', 'relative', 'student', 'teacher']);
  assert.deepEqual(values('enrollments', 'role'), ['administrator', 'proctor', 'student', 'teacher']);
  assert.deepEqual(values('demographics', 'sex'), ['male', 'female']);
  assert.deepEqual(values('resources', 'importance'), ['primary', 'secondary']);
  assert.deepEqual(values('results', 'scoreStatus'), ['exempt', 'fully graded', 'not submitted', 'partially graded', 'submitted']);
});

test('column kinds of the typed columns', () => {
  const kind = (file: DataFile, name: string): string => SCHEMAS[file].columns[columnIndex(SCHEMAS[file], name)].kind;
  assert.equal(kind('users', 'enabledUser'), 'bool');
  assert.equal(kind('users', 'orgSourcedIds'), 'refList');
  assert.equal(kind('users', 'userIds'), 'userIds');
  assert.equal(kind('users', 'grades'), 'grades');
  assert.equal(kind('users', 'agentSourcedIds'), 'refList');
  assert.equal(kind('classes', 'termSourcedIds'), 'refList');
  assert.equal(kind('classes', 'periods'), 'stringList');
  assert.equal(kind('enrollments', 'primary'), 'bool');
  assert.equal(kind('enrollments', 'beginDate'), 'date');
  assert.equal(kind('academicSessions', 'schoolYear'), 'year');
  assert.equal(kind('lineItems', 'resultValueMin'), 'float');
  assert.equal(kind('results', 'score'), 'float');
  assert.equal(kind('demographics', 'white'), 'bool');
  assert.equal(kind('orgs', 'parentSourcedId'), 'ref');
});

test('manifest header, columnIndex and dataFileForName', () => {
  assert.deepEqual([...MANIFEST_HEADER], ['propertyName', 'value']);
  assert.equal(columnIndex(SCHEMAS.users, 'role'), 5);
  assert.throws(() => columnIndex(SCHEMAS.users, 'roles'), /no column "roles"/);
  assert.equal(dataFileForName('classResources.csv'), 'classResources');
  assert.equal(dataFileForName('Users.csv'), null);
  assert.equal(dataFileForName('manifest.csv'), null);
});
