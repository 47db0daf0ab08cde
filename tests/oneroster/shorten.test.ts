/** Shortening what issues quote: the marker, the limits of the sync_issue columns, surrogate pairs. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ISSUE_TEXT_LIMITS, IssueSink, shortenIssue, StructuralError, type SyncIssue } from '../../src/oneroster/issues';
import { quote, shorten } from '../../src/oneroster/shorten';

const issue = (over: Partial<SyncIssue> = {}): SyncIssue => ({
  severity: 'error', code: 'csv.line_too_long', file: 'users.csv', line: 2, column: null, sourcedId: 'u1', message: 'too long', ...over,
});

describe('shorten', () => {
  it('keeps text that fits, as is', () => {
    const text = 'a'.repeat(300);
    assert.equal(shorten(text, 300), text);
    assert.equal(shorten('', 5), '');
  });

  it('cuts longer text to the limit, with an ellipsis and the original length', () => {
    const out = shorten('abc'.repeat(20_000) + 'abcdef', 300);
    assert.equal(out.length, 300);
    assert.match(out, /^(abc)+a?b?… \(60006 characters\)$/);
    assert.equal(shorten('x'.repeat(65_536), 30), `${'x'.repeat(10)}… (65536 characters)`);
  });

  it('never splits a surrogate pair, and counts characters, not UTF-16 units', () => {
    const emoji = '😀'; // two UTF-16 code units
    for (let max = 25; max <= 40; max++) {
      const out = shorten(emoji.repeat(100), max);
      assert.ok(out.length <= max, `within ${max}`);
      assert.ok(out.endsWith('… (100 characters)'), out);
      const head = out.slice(0, out.indexOf('…'));
      assert.equal(head, emoji.repeat(head.length / 2), `whole pairs only at ${max}: ${JSON.stringify(head)}`);
      assert.equal(Buffer.from(out, 'utf8').toString('utf8'), out, 'survives UTF-8 unchanged');
    }
  });

  it('gives the start alone when the limit is too small for the marker', () => {
    assert.equal(shorten('abcdefghij'.repeat(10), 5), 'abcde');
    assert.equal(shorten('😀😀😀', 3), '😀');
  });

  it('quote() shows at most 80 characters of a value', () => {
    assert.equal(quote('u1'), '"u1"');
    const q = quote('y'.repeat(5000));
    assert.equal(q.length, 82);
    assert.match(q, /^"y+… \(5000 characters\)"$/);
  });
});

describe('issues within their columns', () => {
  it('shortenIssue cuts file, column, sourcedId and message to the sync_issue limits; a fitting issue is itself', () => {
    const ok = issue();
    assert.equal(shortenIssue(ok), ok);
    const long = shortenIssue(issue({
      file: 'f'.repeat(70_000), column: `metadata.${'c'.repeat(70_000)}`, sourcedId: 's'.repeat(65_536), message: 'm'.repeat(100_000),
    }));
    assert.equal(long.file?.length, ISSUE_TEXT_LIMITS.file);
    assert.equal(long.column?.length, ISSUE_TEXT_LIMITS.column);
    assert.equal(long.sourcedId?.length, ISSUE_TEXT_LIMITS.sourcedId);
    assert.equal(long.message.length, ISSUE_TEXT_LIMITS.message);
    assert.match(long.sourcedId ?? '', /^s+… \(65536 characters\)$/);
    assert.deepEqual([ISSUE_TEXT_LIMITS.file, ISSUE_TEXT_LIMITS.column, ISSUE_TEXT_LIMITS.sourcedId], [255, 255, 300], 'the columns\' lengths');
  });

  it('the sink keeps issues shortened and counts them all; a structural error carries the shortened issue', () => {
    const sink = new IssueSink(2);
    for (let i = 0; i < 3; i++) sink.add(issue({ sourcedId: `${i}`.padEnd(65_536, 'z') }));
    assert.equal(sink.kept.length, 2);
    assert.equal(sink.dropped, 1);
    assert.equal(sink.counts.error, 3);
    assert.ok(sink.kept.every((i) => (i.sourcedId ?? '').length === 300));
    const err = new StructuralError(issue({ message: `header "${'h'.repeat(65_000)}"` }));
    assert.equal(err.message.length, ISSUE_TEXT_LIMITS.message);
    assert.equal(err.issue.message, err.message);
  });
});
