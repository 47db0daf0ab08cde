/**
 * Compares CSV parsers on the same file: fast-csv (parse only, array rows), rosterdrop's line
 * splitter + field splitter (parse only), and rosterdrop's full readCsv (parse + header check +
 * per-row validation). Each reads the file from disk with the same 64 KiB chunks.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import * as path from 'node:path';
import { parse } from 'fast-csv';
import { IssueSink } from '../src/oneroster/issues';
import { LineSplitter } from '../src/oneroster/csv/line-splitter';
import { RecordAssembler } from '../src/oneroster/csv/fields';
import { readCsv } from '../src/oneroster/read-csv';
import { SCHEMAS, dataFileForName, headerLine } from '../src/oneroster/schemas';
import type { FileSchema } from '../src/oneroster/types';

export interface ParserResult {
  parser: string;
  rows: number;
  seconds: number;
  rowsPerSec: number;
}

const CHUNK = 64 * 1024;

export async function benchParsers(csvPath: string): Promise<Array<{ parser: string; rows: number; seconds: number; rowsPerSec: number }>> {
  const schema = await schemaFor(csvPath);
  return [
    await timed('fast-csv (parse only)', () => fastCsvRows(csvPath)),
    await timed('rosterdrop lines+fields (parse only)', () => ownParseRows(csvPath)),
    await timed(`rosterdrop readCsv (parse + validate ${schema.fileName})`, () => readCsvRows(csvPath, schema)),
  ];
}

async function timed(parser: string, run: () => Promise<number>): Promise<ParserResult> {
  const start = process.hrtime.bigint();
  const rows = await run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { parser, rows, seconds, rowsPerSec: Math.round(rows / seconds) };
}

/** Data rows, not counting the header, as the other two count them. */
function fastCsvRows(csvPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let rows = 0;
    createReadStream(csvPath, { highWaterMark: CHUNK })
      .on('error', reject)
      .pipe(parse({ headers: false }))
      .on('error', reject)
      .on('data', () => { rows++; })
      .on('end', () => resolve(Math.max(0, rows - 1)));
  });
}

async function ownParseRows(csvPath: string): Promise<number> {
  let records = 0;
  const assembler = new RecordAssembler(() => { records++; });
  const splitter = new LineSplitter(assembler.push);
  for await (const chunk of createReadStream(csvPath, { highWaterMark: CHUNK }) as AsyncIterable<Buffer>) splitter.push(chunk);
  splitter.end();
  assembler.end();
  return Math.max(0, records - 1);
}

async function readCsvRows(csvPath: string, schema: FileSchema): Promise<number> {
  let rows = 0;
  const issues = new IssueSink(1000);
  const input = createReadStream(csvPath, { highWaterMark: CHUNK });
  for await (const batch of readCsv(input, schema, 'bulk', issues)) rows += batch.length;
  return rows;
}

/** The schema named by the file (users.csv → users), else the one whose header the file starts with. */
async function schemaFor(csvPath: string): Promise<FileSchema> {
  const byName = dataFileForName(path.basename(csvPath));
  if (byName !== null) return SCHEMAS[byName];
  const handle = await open(csvPath, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    const first = buf.subarray(0, bytesRead).toString('utf8').replace(/^\ufeff/, '').split(/\r?\n/)[0];
    const match = Object.values(SCHEMAS).find((s) => first === headerLine(s) || first.startsWith(`${headerLine(s)},`));
    if (match === undefined) throw new Error(`${csvPath}: cannot tell which OneRoster file this is from its name or header`);
    return match;
  } finally {
    await handle.close();
  }
}
