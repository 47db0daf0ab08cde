/**
 * External IDs mark what a sync manages: `or-` + sourcedId for records of the file, and a
 * readable composite for what the sync derives (base courses and their enrollments). Parts are
 * URI-encoded so that no sourcedId can forge another entity's key.
 */
export const MANAGED_PREFIX = 'or-';

const part = (s: string): string => encodeURIComponent(s);

export const externalId = (sourcedId: string): string => MANAGED_PREFIX + sourcedId;

export const orgBaseCourseId = (orgSid: string): string => `${MANAGED_PREFIX}base:org:${part(orgSid)}`;

export const teacherBaseCourseId = (courseSid: string, teacherSid: string, schoolSid: string): string =>
  `${MANAGED_PREFIX}base:teacher:${part(courseSid)}:${part(teacherSid)}:${part(schoolSid)}`;

export const termBaseCourseId = (courseSid: string, teacherSid: string, schoolSid: string, termSid: string): string =>
  `${teacherBaseCourseId(courseSid, teacherSid, schoolSid)}:term:${part(termSid)}`;

/** the primary teacher's enrollment in a teacher or term base course */
export const baseEnrollmentId = (courseExternalId: string, teacherSid: string): string =>
  `${courseExternalId}#${part(teacherSid)}`;
