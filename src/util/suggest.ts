// "Did you mean": the closest known name to a mistyped one, by case-insensitive edit distance. The one place fabra
// guesses what a user meant (feature, context and index names; definition options; config keys).

/** The candidate closest to `name`, if it is close enough to be a likely typo (at most 2 edits, or a third of it). */
export function suggest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** `Did you mean "x"?` for the closest candidate; undefined when none is close. */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const guess = suggest(name, candidates);
  return guess === undefined ? undefined : `Did you mean "${guess}"?`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
    }
    prev = cur;
  }
  return prev[b.length] as number;
}
