import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkSafety } from '../../src/sync/safety';

test('removals above the threshold are held with the numbers; at or below it they pass', () => {
  const plan = [
    { kind: 'users' as const, managed: 200, removals: 21 },
    { kind: 'courses' as const, managed: 50, removals: 5 },
    { kind: 'enrollments' as const, managed: 0, removals: 0 },
  ];
  const verdict = checkSafety(plan, 10, false);
  assert.equal(verdict.refused, true);
  assert.deepEqual(verdict.over.map((o) => o.kind), ['users'], '5 of 50 courses is exactly 10%: allowed');
  assert.match(verdict.message, /21 of 200 managed users \(10\.5%\)/);
  assert.match(verdict.message, /^held: .*approve the run if they are intended, else discard it/);
  assert.equal(checkSafety(plan, 11, false).refused, false);
});

test('force applies anyway but still says what it removes; nothing managed means nothing to guard', () => {
  const forced = checkSafety([{ kind: 'users', managed: 10, removals: 10 }], 10, true);
  assert.equal(forced.refused, false);
  assert.match(forced.message, /forced past the safety threshold/);
  assert.equal(checkSafety([{ kind: 'users', managed: 0, removals: 3 }], 0, false).refused, false);
});
