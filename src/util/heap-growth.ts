/**
 * How far V8 lets the heap grow past what survived the last full GC before it collects again.
 *
 * A sync's live heap is flat (a batch of rows at a time, ~30 MB after a full GC at 100k and at
 * 1M enrollments), but V8 picks a growth factor of up to 4× for a busy allocator, and the longer a
 * sync runs the larger the garbage it lets pile up: peak RSS went from 140 MB at 100k to 230 MB at
 * 1M, all of it garbage. A fixed factor of 1.6 kept the 1M peak at 160 MB with the same read
 * speed (30% cost 5% of the read; --optimize-for-size halved the speed). See README, "Speed and memory".
 */
import v8 from 'node:v8';

export const HEAP_GROWING_PERCENT = 60;

/** Call once at process start. A --heap-growing-percent given to node itself wins. */
export function boundHeapGrowth(execArgv: readonly string[] = process.execArgv): void {
  if (execArgv.some((a) => a.startsWith('--heap-growing-percent') || a.startsWith('--heap_growing_percent'))) return;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
