/**
 * The contract between OneRoster reading (zip, manifest, CSV, per-row validation) and the sync
 * engine. Reading is pure streaming: nothing here holds a whole file in memory.
 */

export const DATA_FILES = [
  'academicSessions', 'categories', 'classes', 'classResources', 'courses', 'courseResources',
  'demographics', 'enrollments', 'lineItems', 'orgs', 'resources', 'results', 'users',
] as const;
export type DataFile = (typeof DATA_FILES)[number];

/** The files rosterdrop applies, in the order the engine reads them; the others are only validated. */
export const APPLIED_FILES = ['orgs', 'academicSessions', 'courses', 'classes', 'users', 'enrollments'] as const satisfies readonly DataFile[];
export type AppliedFile = (typeof APPLIED_FILES)[number];

/**
 * The files a bulk upload (one with any file in bulk mode) must carry, as bulk or delta, besides
 * manifest.csv. A delta upload (no file in bulk mode) may leave any file out: what it refers to
 * was sent by earlier syncs. courses.csv may be left out of a bulk upload too (the spec allows it;
 * minimal exports do it): the sections then have no course to derive base courses from.
 */
export const BULK_UPLOAD_FILES = ['orgs', 'academicSessions', 'classes', 'users', 'enrollments'] as const satisfies readonly AppliedFile[];

export type FileMode = 'bulk' | 'delta' | 'absent';

export type ColumnKind =
  | 'sourcedId'   // the row's own GUID
  | 'status'      // active | tobedeleted (delta only)
  | 'datetime'    // dateLastModified
  | 'ref'         // one GUID reference
  | 'refList'     // comma-separated GUID references
  | 'string'
  | 'stringList'
  | 'grades'      // list of CEDS grade codes (unknown codes are a warning)
  | 'userIds'     // list of {type:identifier}
  | 'enum'
  | 'bool'        // true | false
  | 'date'
  | 'year'
  | 'float';

export interface ColumnSpec {
  name: string;
  required: boolean;
  kind: ColumnKind;
  /** allowed tokens for kind 'enum' */
  values?: readonly string[];
}

export interface FileSchema {
  file: DataFile;
  /** e.g. "users.csv" */
  fileName: string;
  columns: readonly ColumnSpec[];
}

/**
 * One data row after generic validation. `values` holds the defined columns in header order
 * (blank = ''); `metadata` the `metadata.*` extension columns (without the prefix), blanks left out.
 * `ok` is false when the row has an error: the engine then skips it but still knows its
 * sourcedId, so rows that depend on it are reported as such and it is not treated as unshared.
 */
export interface ParsedRow {
  line: number;
  ok: boolean;
  sourcedId: string;
  values: string[];
  metadata: Record<string, string> | null;
}

export interface ZipLimits {
  maxEntries: number;
  /** total uncompressed bytes over all entries */
  maxUncompressedBytes: number;
  /** uncompressed / compressed, per entry, for entries above 1 MiB */
  maxCompressionRatio: number;
}

export interface Manifest {
  modes: Record<DataFile, FileMode>;
  properties: Map<string, string>;
}

/** An upload in which no file is bulk: it may leave any file out (absent). */
export function isDeltaUpload(modes: Record<DataFile, FileMode>): boolean {
  return !DATA_FILES.some((f) => modes[f] === 'bulk');
}

/**
 * Whether a reference into `file` may name a record an earlier sync sent (the LMS and the kept
 * records): when the file is delta, or absent from a delta upload. An absent file leaves its
 * records as earlier syncs left them.
 */
export function buildsOnEarlierSyncs(modes: Record<DataFile, FileMode>, file: DataFile): boolean {
  return modes[file] === 'delta' || (modes[file] === 'absent' && isDeltaUpload(modes));
}
