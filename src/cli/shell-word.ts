// A path or argument as one shell word, for commands the CLI prints for the user to paste.

/** `text` as a shell word: as it is when it needs no quoting, else in single quotes. */
export function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}
