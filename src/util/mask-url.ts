// Service URLs as they may be shown: in errors, logs and `fabra doctor`, the password is always masked.

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db`; anything unparsable is shown only by scheme. */
export function maskUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
    return scheme ? `${scheme}://(unparsable URL)` : "(unparsable URL)";
  }
  if (parsed.password !== "") parsed.password = "***";
  for (const key of [...parsed.searchParams.keys()]) {
    if (/pass|secret|token|key/i.test(key)) parsed.searchParams.set(key, "***");
  }
  return parsed.toString();
}
