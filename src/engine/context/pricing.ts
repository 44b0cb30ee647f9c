// A small price table for `lineage.estimated_cost_usd`: USD per million input tokens, matched by the longest
// model-name prefix. Unknown models cost 0 (the record says "no estimate", never a guess dressed as a price).
const USD_PER_MILLION_INPUT_TOKENS: [prefix: string, usd: number][] = [
  ["gpt-5-nano", 0.05],
  ["gpt-5-mini", 0.25],
  ["gpt-5", 1.25],
  ["gpt-4.1-nano", 0.1],
  ["gpt-4.1-mini", 0.4],
  ["gpt-4.1", 2.0],
  ["gpt-4o-mini", 0.15],
  ["gpt-4o", 2.5],
  ["chatgpt-4o", 5.0],
  ["gpt-4-turbo", 10.0],
  ["gpt-4", 30.0],
  ["gpt-3.5-turbo", 0.5],
  ["o1-mini", 1.1],
  ["o1", 15.0],
  ["o3-mini", 1.1],
  ["o3", 2.0],
  ["o4-mini", 1.1],
  ["claude-opus-4", 15.0],
  ["claude-sonnet-4", 3.0],
  ["claude-3-7-sonnet", 3.0],
  ["claude-3-5-sonnet", 3.0],
  ["claude-3-5-haiku", 0.8],
  ["claude-haiku-4", 1.0],
  ["claude-3-haiku", 0.25],
  ["claude-3-opus", 15.0],
  ["gemini-2.5-pro", 1.25],
  ["gemini-2.5-flash", 0.3],
  ["gemini-2.0-flash", 0.1],
  ["gemini-1.5-pro", 1.25],
  ["gemini-1.5-flash", 0.075],
  ["mistral-large", 2.0],
  ["mistral-small", 0.2],
];

// Longest prefix first, so "gpt-4o-mini" wins over "gpt-4o" and "gpt-4".
const BY_LENGTH = [...USD_PER_MILLION_INPUT_TOKENS].sort((a, b) => b[0].length - a[0].length);

/** USD per million input tokens for `model`, or null when the table does not know it. */
export function pricePerMillion(model: string | undefined): number | null {
  if (!model) return null;
  const lower = model.toLowerCase();
  return BY_LENGTH.find(([prefix]) => lower.startsWith(prefix))?.[1] ?? null;
}

export function estimateCostUsd(model: string | undefined, tokens: number): number {
  const price = pricePerMillion(model);
  // Twelve decimals (a millionth of a cent): no float noise (0.000043799999999999994) in records or on screen.
  return price === null ? 0 : Number(((tokens * price) / 1_000_000).toFixed(12));
}
