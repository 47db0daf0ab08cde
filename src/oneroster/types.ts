/**
 * The contract between OneRoster reading (zip, manifest, CSV, per-row validation) and the sync
 * engine. Reading is pure streaming: nothing here holds a whole file in memory.
 */

export const DATA_FILES = [
  'academicSessions', 'categories', 'classes', 'classResources', 'courses', 'courseResources',
  'demographics', 'enrollments', 'lineItems', 'orgs', 'resources', 'results', 'users',
] as const;
export type DataFile = (typeof DATA_FILES)[number];

/** The seven files rosterdrop needs in every upload, in the order the engine reads them. */
export const REQUIRED_FILES = ['orgs', 'academicSessions', 'courses', 'classes', 'users', 'enrollments'] as const satisfies readonly DataFile[];
// manifest.csv is the seventh required file.

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
