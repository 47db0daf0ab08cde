import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter, type LineFlaw } from '../../src/oneroster/csv/line-splitter';
import { RecordAssembler, splitFields, type RecordProblem } from '../../src/oneroster/csv/fields';

interface Line { text: string; no: number; flaw: LineFlaw }

/** Feeds `input` to a LineSplitter in chunks of `chunkSize` bytes and returns the lines. */
function lines(input: Buffer | string, chunkSize = 65536, maxLineBytes?: number): Line[] {
  const out: Line[] = [];
  const splitter = new LineSplitter((text, no, flaw) => out.push({ text, no, flaw }), maxLineBytes);
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  for (let i = 0; i < bytes.length; i += chunkSize) splitter.push(bytes.subarray(i, i + chunkSize));
  splitter.end();
  return out;
}

interface Rec { line: number; fields: string[]; problems: RecordProblem[] | null }

function records(input: string, chunkSize = 65536, opts = {}): Rec[] {
  const out: Rec[] = [];
  const assembler = new RecordAssembler((line, fields, problems) => out.push({ line, fields, problems }), opts);
  const splitter = new LineSplitter(assembler.push);
  const bytes = Buffer.from(input, 'utf8');
  for (let i = 0; i < bytes.length; i += chunkSize) splitter.push(bytes.subarray(i, i + chunkSize));
  splitter.end();
  assembler.end();
  return out;
}

test('line splitter: LF and CRLF, numbering, last line without terminator', () => {
  assert.deepEqual(lines('a,b\r\nc,d\ne,f'), [
    { text: 'a,b', no: 1, flaw: null },
    { text: 'c,d', no: 2, flaw: null },
    { text: 'e,f', no: 3, flaw: null },
  ]);
  assert.deepEqual(lines('x\n'), [{ text: 'x', no: 1, flaw: null }]);
  assert.deepEqual(lines(''), []);
  assert.deepEqual(lines('a\n\nb\n').map((l) => l.text), ['a', '', 'b']);
});

test('line splitter: strips one leading BOM only', () => {
  const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('sourcedId,x\r\n\ufeffy\r\n')]);
  const got = lines(withBom);
  assert.equal(got[0].text, 'sourcedId,x');
  assert.equal(got[1].text, '\ufeffy'); // a BOM elsewhere is data
});

test('line splitter: the same lines whatever the chunk boundaries (incl. inside CRLF, BOM and multi-byte chars)', () => {
  const text = '\ufeffid,name\r\n1,Zoë Ångström\r\n2,日本語\n3,😀 emoji\r\n\r\n4,end';
  const expected = lines(text);
  assert.equal(expected.length, 6);
  assert.equal(expected[0].text, 'id,name');
  for (const size of [1, 2, 3, 5, 7, 13]) assert.deepEqual(lines(text, size), expected, `chunk size ${size}`);
});

test('line splitter: invalid UTF-8 is flagged on its own line, with its line number', () => {
  const bytes = Buffer.concat([
    Buffer.from('h1,h2\nok,1\nbad,'), Buffer.from([0xff, 0xfe, 0x41]), Buffer.from('\nok,2\n'),
  ]);
  for (const size of [65536, 4]) {
    const got = lines(bytes, size);
    assert.deepEqual(got.map((l) => [l.no, l.flaw]), [[1, null], [2, null], [3, 'encoding'], [4, null]]);
    assert.match(got[2].text, /^bad,\ufffd/);
  }
  // Latin-1 "é" (0xE9) is the classic case: an Excel "CSV" export that is not UTF-8
  const latin1 = lines(Buffer.from('h\nRen\xe9\n', 'latin1'));
  assert.equal(latin1[1].flaw, 'encoding');
});

test('line splitter: a line over the limit is cut, flagged, and the next line is intact', () => {
  const long = 'x'.repeat(100);
  for (const size of [65536, 16, 1]) {
    const got = lines(`a\n${long}\r\nb\n`, size, 50);
    assert.deepEqual(got.map((l) => [l.no, l.flaw]), [[1, null], [2, 'too_long'], [3, null]], `chunk ${size}`);
    assert.equal(got[1].text, 'x'.repeat(50));
    assert.equal(got[2].text, 'b');
  }
  // exactly at the limit is fine, CRLF or not
  assert.deepEqual(lines(`${'y'.repeat(50)}\r\n${'z'.repeat(50)}`, 7, 50).map((l) => l.flaw), [null, null]);
});

test('fields: plain, empty and trailing-comma fields', () => {
  assert.deepEqual(splitFields('a,b,c'), { fields: ['a', 'b', 'c'], problem: null, open: 0 });
  assert.deepEqual(splitFields(',,').fields, ['', '', '']);
  assert.deepEqual(splitFields('').fields, ['']);
  assert.deepEqual(splitFields('a,').fields, ['a', '']);
});

test('fields: RFC 4180 quoting with commas and doubled quotes', () => {
  assert.deepEqual(splitFields('1,"t1,t2","say ""hi""",x').fields, ['1', 't1,t2', 'say "hi"', 'x']);
  assert.deepEqual(splitFields('"",""""').fields, ['', '"']);
  assert.deepEqual(splitFields('"a","b",').fields, ['a', 'b', '']);
  assert.deepEqual(splitFields('"only"'), { fields: ['only'], problem: null, open: 0 });
  // a space before the quote means the field is not quoted: the quote is then stray
  const spaced = splitFields('a, "b"');
  assert.equal(spaced.problem?.column, 2);
});

test('fields: stray quote and text after a closing quote give csv.quote with the column', () => {
  const stray = splitFields('1,O"Brien,x');
  assert.equal(stray.problem?.column, 2);
  assert.match(stray.problem?.detail ?? '', /quote appears inside a field that does not start with one/);
  assert.deepEqual(stray.fields, ['1', 'O"Brien', 'x']);

  const after = splitFields('1,"abc"def,x');
  assert.equal(after.problem?.column, 2);
  assert.match(after.problem?.detail ?? '', /text follows the closing quote/);
  assert.deepEqual(after.fields, ['1', 'abcdef', 'x']);

  const open = splitFields('1,"abc,def');
  assert.equal(open.open, 2);
  assert.equal(open.fields[0], '1');
});

test('records: a line break inside a quoted field is joined, reported once, and the row rejected', () => {
  const got = records('h1,h2,h3\n1,"two\nlines",x\n2,b,c\n');
  assert.equal(got.length, 3);
  assert.deepEqual(got[1].fields, ['1', 'two\nlines', 'x']);
  assert.equal(got[1].line, 2);
  assert.equal(got[1].problems?.length, 1);
  assert.equal(got[1].problems?.[0].code, 'csv.line_break_in_field');
  assert.equal(got[1].problems?.[0].column, 2);
  assert.match(got[1].problems?.[0].detail ?? '', /runs on to line 3/);
  // the next record keeps its physical line number and is clean
  assert.deepEqual(got[2], { line: 4, fields: ['2', 'b', 'c'], problems: null });
});

test('records: an unclosed quote is a stray quote; the lines after it are read on their own', () => {
  const body = ['h1,h2', '1,"oops', ...Array.from({ length: 5 }, (_, i) => `${i + 2},b`)].join('\n');
  const got = records(body, 65536, { maxJoinedLines: 3 });
  assert.equal(got[1].line, 2);
  assert.equal(got[1].problems?.[0].code, 'csv.quote');
  assert.match(got[1].problems?.[0].detail ?? '', /never closed/);
  assert.deepEqual(got.slice(2).map((r) => [r.line, r.fields[0], r.problems]), [
    [3, '2', null], [4, '3', null], [5, '4', null], [6, '5', null], [7, '6', null],
  ]);
  // at the end of the file too
  const atEnd = records('h\n"never');
  assert.equal(atEnd[1].problems?.[0].code, 'csv.quote');
});

test('records: line flaws become problems of the record', () => {
  const bytes = Buffer.concat([Buffer.from('h\nA'), Buffer.from([0xc3]), Buffer.from('\n')]);
  const out: Rec[] = [];
  const assembler = new RecordAssembler((line, fields, problems) => out.push({ line, fields, problems }));
  const splitter = new LineSplitter(assembler.push);
  splitter.push(bytes);
  splitter.end();
  assert.equal(out[1].problems?.[0].code, 'csv.encoding');
  assert.equal(out[1].problems?.[0].line, 2);
});
