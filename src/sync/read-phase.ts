/**
 * Reads the upload into the staging tables: zip (safety limits), manifest, the start of every
 * present file (structure.ts: all broken headers at once), then each applied CSV streamed through
 * the strict reader and the field mapping into one bulk load per file. An absent file leaves its
 * stage table empty. Optional OneRoster files that are present are validated but not applied.
 */
import { Transform } from 'node:stream';
import type { SqlSession, SqlValue } from '../db/sql-session';
import type { IssueSink } from '../oneroster/issues';
import { readManifest } from '../oneroster/manifest';
import { readCsv } from '../oneroster/read-csv';
import { SCHEMAS } from '../oneroster/schemas';
import { checkUploadStructure } from '../oneroster/structure';
import { APPLIED_FILES, DATA_FILES, type AppliedFile, type DataFile, type Manifest, type ParsedRow, type ZipLimits } from '../oneroster/types';
import { RosterZip } from '../oneroster/zip-reader';
import { mapClass, mapCourse, mapEnrollment, mapOrg, mapSession, mapUser, rejectedRow, type MappingContext } from './mapping';
import { FILE_TABLES, stageColumns } from './stage-tables';
import type { SyncProgress } from './types';

type Mapper = (row: ParsedRow) => SqlValue[];

function mapperFor(file: AppliedFile, ctx: MappingContext): Mapper {
  switch (file) {
    case 'orgs': return mapOrg;
    case 'academicSessions': return mapSession;
    case 'courses': return mapCourse;
    case 'classes': return mapClass;
    case 'users': return mapUser;
    case 'enrollments': return (row) => mapEnrollment(row, ctx);
  }
}

/**
 * demographics.csv is validated, not applied; its valid rows' lines and sourcedIds (each names a
 * user) are staged so that a row for no user can be reported (reference-checks.ts).
 */
async function stageDemographics(db: SqlSession, rows: AsyncIterable<ParsedRow[]>): Promise<void> {
  const status = SCHEMAS.demographics.columns.findIndex((c) => c.name === 'status');
  async function* batches(): AsyncGenerator<SqlValue[][]> {
    for await (const batch of rows) {
      yield batch.filter((r) => r.ok).map((r) => [r.line, r.sourcedId, r.values[status] === 'tobedeleted' ? 1 : 0]);
    }
  }
  await db.load('stage_demographics', stageColumns('stage_demographics'), batches());
}

export interface ReadOptions {
  limits: ZipLimits;
  /** the upload's name as its sender knows it (messages name it, not the queue file) */
  displayName: string;
  onProgress?: (p: SyncProgress) => void;
}

export async function readUpload(db: SqlSession, zipPath: string, mapping: MappingContext, issues: IssueSink, opts: ReadOptions): Promise<Manifest> {
  const zip = await RosterZip.open(zipPath, opts.limits, issues, opts.displayName);
  try {
    const manifest = await readManifest(zip, issues);
    const headerOnly = await checkUploadStructure(zip, manifest.modes, issues);
    const present = DATA_FILES.filter((f) => manifest.modes[f] !== 'absent');
    const total = present.reduce((sum, f) => sum + zip.uncompressedSize(SCHEMAS[f].fileName), 0);
    let done = 0;
    const counted = (file: string) => new Transform({
      transform(chunk: Buffer, _enc, cb) {
        done += chunk.length;
        opts.onProgress?.({ phase: 'read', file, done, total });
        cb(null, chunk);
      },
    });
    // pipe() does not forward errors: a corrupt entry (CRC, truncation, bomb) must reach the reader
    // as a rejection, not become an uncaught 'error' event on the zip stream
    const open = async (file: string): Promise<Transform> => {
      const entry = await zip.openStream(file);
      const through = counted(file);
      entry.on('error', (err) => through.destroy(err));
      return entry.pipe(through);
    };

    for (const file of APPLIED_FILES) {
      const schema = SCHEMAS[file];
      const fileMode = manifest.modes[file];
      if (fileMode === 'absent') continue;
      const mode = fileMode; // narrowed for the generator below
      const table = FILE_TABLES[file];
      const columns = stageColumns(table);
      const map = mapperFor(file, mapping);
      const input = await open(schema.fileName);
      async function* batches(): AsyncGenerator<SqlValue[][]> {
        for await (const rows of readCsv(input, schema, mode, issues)) yield rows.map((r) => (r.ok ? map(r) : rejectedRow(r, columns)));
      }
      await db.load(table, columns, batches());
    }

    for (const file of present.filter((f) => !(APPLIED_FILES as readonly DataFile[]).includes(f) && !headerOnly.has(f))) {
      const schema = SCHEMAS[file];
      const input = await open(schema.fileName);
      const rows = readCsv(input, schema, manifest.modes[file] as 'bulk' | 'delta', issues);
      if (file === 'demographics') await stageDemographics(db, rows);
      else for await (const batch of rows) void batch;
    }
    return manifest;
  } finally {
    zip.close();
  }
}
