// Counted nouns for messages: `plural(1, "retriever")` is "1 retriever", `plural(0, "index", "indexes")` "0 indexes".

/** `n` and the noun, singular for exactly 1 (the plural is `noun + "s"` unless given). */
export function plural(n: number, noun: string, pluralNoun = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : pluralNoun}`;
}
