/** Edit distance with adjacent transpositions (optimal string alignment): a typo's usual shapes cost 1. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** At most this many suggestions: a short list a person reads at a glance. */
const MAX_SUGGESTIONS = 3;

/**
 * The candidates close to `word`, closest first: within a third of its length in edits (at least 1), or ones it
 * starts (a cut-short id). Matching stays exact everywhere else; this only feeds "did you mean".
 */
export function closeMatches(word: string, candidates: Iterable<string>): string[] {
  const limit = Math.max(1, Math.floor(word.length / 3));
  const scored: { c: string; score: number }[] = [];
  for (const c of candidates) {
    if (c === word) continue;
    const distance = editDistance(word.toLowerCase(), c.toLowerCase());
    if (distance <= limit) scored.push({ c, score: distance });
    else if (word.length >= 2 && c.startsWith(word)) scored.push({ c, score: limit + 1 });
  }
  return scored
    .sort((x, y) => x.score - y.score || x.c.localeCompare(y.c))
    .slice(0, MAX_SUGGESTIONS)
    .map((s) => s.c);
}

/** " (did you mean a or b?)", or nothing. */
export function didYouMean(suggestions: string[]): string {
  if (suggestions.length === 0) return '';
  const list = suggestions.length === 1 ? suggestions[0] : `${suggestions.slice(0, -1).join(', ')} or ${suggestions[suggestions.length - 1]}`;
  return ` (did you mean ${list}?)`;
}
