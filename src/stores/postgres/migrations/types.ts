// The shape of one numbered Postgres migration.

export interface Migration {
  /** 1, 2, 3 ... in order; never reused, never edited once released (the runner checks a checksum). */
  version: number;
  name: string;
  /** Statements run in one transaction; `{{schema}}` stands for the quoted schema name. */
  up: string[];
}
