/** "1 warning", "2 warnings", "1,204 errors": a count with its word, for messages people read. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? word : many}`;
}
