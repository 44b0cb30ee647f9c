// `fabra features import` end to end on the built CLI, on DuckDB and Postgres: a random history (ties, gaps, late
// backfills, many entities) imported from CSV, then `fabra training-data` checked row by row against a brute-force
// as-of join by event time and by known time; the same file twice adds nothing; bad rows fail their batch only;
// kinds survive JSON lines and Parquet.
import { writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectCleanError, type InProcessSandbox, project } from "../helpers/cli.js";
import { dropSchema, POSTGRES_URL, postgresUp, uniqueName } from "../helpers/services.js";

const FEATURES_TS = `
import { entity, feature } from "fabra";
export const user = entity("user");
export const score = feature({ entity: user }, () => 0);
export const label = feature({ entity: user }, () => "none");
`;

interface HistoryRow {
  line: number;
  entity: string;
  t: number;
  known: number;
  value: number;
}

/** A small deterministic PRNG, so a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const iso = (ms: number) => new Date(ms).toISOString();
const BASE = Date.UTC(2025, 0, 1);
const HOUR = 3_600_000;

function randomCase(seed: number) {
  const rand = prng(seed);
  const entities = Array.from({ length: 12 }, (_, i) => `u${i}`);
  const history: HistoryRow[] = [];
  for (let i = 0; i < 400; i++) {
    const t = BASE + Math.floor(rand() * 40) * HOUR; // few instants: many ties
    const late = rand() < 0.3 ? Math.floor(rand() * 30) * HOUR : 0; // a late backfill
    history.push({
      line: i + 2,
      entity: entities[Math.floor(rand() * entities.length)] as string,
      t,
      known: t + late,
      value: Math.floor(rand() * 1000),
    });
  }
  const events = Array.from({ length: 300 }, () => ({
    entity: rand() < 0.05 ? "nobody" : (entities[Math.floor(rand() * entities.length)] as string),
    t: BASE + Math.floor(rand() * 45 - 2) * HOUR + (rand() < 0.5 ? 0 : 1000),
  }));
  return { history, events };
}

/** The as-of join by brute force: greatest event time <= T, then greatest known time, then the later line. */
function oracle(history: HistoryRow[], entity: string, t: number, knownTime: boolean): number | null {
  let best: HistoryRow | null = null;
  for (const h of history) {
    if (h.entity !== entity || h.t > t || (knownTime && h.known > t)) continue;
    if (
      best === null ||
      h.t > best.t ||
      (h.t === best.t && (h.known > best.known || (h.known === best.known && h.line > best.line)))
    )
      best = h;
  }
  return best?.value ?? null;
}

const backends: { name: string; offline: () => string; setup?: (run: RunFn) => Promise<void> }[] = [
  { name: "duckdb", offline: () => `{ type: "duckdb", path: "fabra.duckdb" }` },
];
type RunFn = (args: string[]) => ReturnType<InProcessSandbox["run"]>;
const pgUp = await postgresUp();
const pgSchema = uniqueName();
if (pgUp)
  backends.push({
    name: "postgres",
    offline: () => `{ type: "postgres", url: ${JSON.stringify(POSTGRES_URL)}, schema: ${JSON.stringify(pgSchema)} }`,
    setup: async (run) => {
      const migrated = await run(["migrate"]);
      expect(migrated.exitCode, String(migrated.stderr)).toBe(0);
    },
  });

afterAll(async () => {
  if (pgUp) await dropSchema(POSTGRES_URL, pgSchema);
});

describe.each(backends)("fabra features import ($name)", (backend) => {
  const box = project(
    "fabra-import-e2e-",
    {
      "fabra.config.ts": `export default { definitions: ["./features.ts"], stores: { offline: ${backend.offline()} } };\n`,
      "features.ts": FEATURES_TS,
    },
    {},
    { inProcess: true },
  );
  const run: RunFn = (args) => box.run(args);
  const { history, events } = randomCase(backend.name === "duckdb" ? 7 : 11);

  beforeAll(async () => {
    await backend.setup?.(run);
    const csv = ["user_id,event_ts,score,learned_at"];
    for (const h of history) csv.push(`${h.entity},${iso(h.t)},${h.value},${iso(h.known)}`);
    writeFileSync(join(box.dir, "history.csv"), `${csv.join("\n")}\n`);
    const ev = ["user_id,timestamp"];
    for (const e of events) ev.push(`${e.entity},${iso(e.t)}`);
    writeFileSync(join(box.dir, "events.csv"), `${ev.join("\n")}\n`);
  });

  const importArgs = [
    "features",
    "import",
    "score",
    "--file",
    "history.csv",
    "--timestamp-column",
    "event_ts",
    "--value-column",
    "score",
    "--known-time-column",
    "learned_at",
    "--batch-size",
    "64",
  ];

  it("imports every row with a summary; the same file again adds nothing", async () => {
    const first = await run([...importArgs, "--json"]);
    expect(first.exitCode, String(first.stderr)).toBe(0);
    const summary = JSON.parse(String(first.stdout)) as { rows: number; written: number; batches: number };
    expect(summary).toMatchObject({ rows: history.length, written: history.length, batches: 7 });
    const again = await run(importArgs);
    expect(again.exitCode, String(again.stderr)).toBe(0);
    expect(String(again.stdout)).toContain(`Imported ${history.length} of ${history.length} rows into score`);
    const before = await trainingRows(false);
    expect(before).toHaveLength(events.length);
  });

  async function trainingRows(knownTime: boolean): Promise<{ user_id: string; timestamp: string; score: unknown }[]> {
    const out = `out-${knownTime ? "known" : "event"}.json`;
    const result = await run([
      "training-data",
      "--events",
      "events.csv",
      "--features",
      "score",
      "-o",
      out,
      ...(knownTime ? ["--known-time"] : []),
    ]);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    return JSON.parse(await readFile(join(box.dir, out), "utf8"));
  }

  for (const knownTime of [false, true]) {
    it(`training data equals a brute-force as-of join by ${knownTime ? "known" : "event"} time`, async () => {
      const rows = await trainingRows(knownTime);
      expect(rows).toHaveLength(events.length);
      let nonNull = 0;
      rows.forEach((row, i) => {
        const e = events[i] as { entity: string; t: number };
        expect(row.user_id).toBe(e.entity);
        const want = oracle(history, e.entity, e.t, knownTime);
        if (want !== null) nonNull++;
        expect(row.score ?? null, `event ${i}: ${e.entity} at ${iso(e.t)}`).toBe(want);
      });
      expect(nonNull).toBeGreaterThan(50);
    });
  }

  it("known time leaves out a value backfilled after the event", async () => {
    const byEvent = await trainingRows(false);
    const byKnown = await trainingRows(true);
    const differ = byEvent.filter((r, i) => (r.score ?? null) !== (byKnown[i]?.score ?? null));
    expect(differ.length).toBeGreaterThan(0);
  });

  it("bad rows are reported with their line; their batch is not written, the others are", async () => {
    const lines = ["entity_id,timestamp,value"];
    for (let i = 0; i < 10; i++) lines.push(`b${i},2025-02-01T00:00:00Z,${i}`);
    lines[4] = "b3,not a time,3"; // line 5 (the header is line 1)
    lines[7] = ",2025-02-01T00:00:00Z,6"; // line 8
    writeFileSync(join(box.dir, "bad.csv"), `${lines.join("\n")}\n`);
    const result = await run(["features", "import", "label", "--file", "bad.csv", "--batch-size", "3"]);
    expectCleanError(result, 2, /2 bad rows in bad\.csv/);
    expect(String(result.stderr)).toContain("line 5: event time");
    expect(String(result.stderr)).toContain("line 8: no entity id");
    // Batches of 3: lines 2-4, 5-7 (bad), 8-10 (bad), 11: b0..b2 and b9 written, b4..b8 not.
    expect(String(result.stdout)).toContain("Imported 4 of 10 rows into label");
    const probe = ["entity_id,timestamp", ...["b0", "b2", "b4", "b8", "b9"].map((e) => `${e},2025-03-01T00:00:00Z`)];
    writeFileSync(join(box.dir, "probe.csv"), `${probe.join("\n")}\n`);
    const out = await run(["training-data", "--events", "probe.csv", "--features", "label", "-o", "probe.json"]);
    expect(out.exitCode, String(out.stderr)).toBe(0);
    const rows = JSON.parse(await readFile(join(box.dir, "probe.json"), "utf8")) as { label: unknown }[];
    expect(rows.map((r) => r.label ?? null)).toEqual([0, 2, null, null, 9]);
  });
});

describe("fabra features import keeps kinds (JSON lines, Parquet)", () => {
  const box = project(
    "fabra-import-kinds-",
    {
      "fabra.config.ts": `export default { definitions: ["./features.ts"], stores: { offline: { type: "duckdb", path: "fabra.duckdb" } } };\n`,
      "features.ts": FEATURES_TS,
    },
    {},
    { inProcess: true },
  );

  it("ints, floats, text, booleans and objects come back as they were written", async () => {
    writeFileSync(
      join(box.dir, "kinds.jsonl"),
      [
        `{"entity_id":"k1","timestamp":"2025-01-01T00:00:00Z","value":12}`,
        `{"entity_id":"k2","timestamp":"2025-01-01T00:00:00Z","value":12.0}`,
        `{"entity_id":"k3","timestamp":"2025-01-01T00:00:00Z","value":"12"}`,
        `{"entity_id":"k4","timestamp":"2025-01-01T00:00:00Z","value":{"a":[true,null]}}`,
      ].join("\n"),
    );
    const result = await box.run(["features", "import", "label", "--file", "kinds.jsonl"]);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    const instance = await DuckDBInstance.create(join(box.dir, "fabra.duckdb"));
    const c = await instance.connect();
    try {
      const rows = (
        await c.runAndReadAll("SELECT entity_id, value_json FROM fabra_feature_values ORDER BY entity_id")
      ).getRowObjectsJS();
      expect(rows).toEqual([
        { entity_id: "k1", value_json: "12" },
        { entity_id: "k2", value_json: "12.0" },
        { entity_id: "k3", value_json: '"12"' },
        { entity_id: "k4", value_json: '{"a":[true,null]}' },
      ]);
      await c.run(
        `COPY (SELECT 'p1' AS entity_id, TIMESTAMP '2025-01-02 00:00:00' AS timestamp, 2.5::DOUBLE AS value) TO '${join(box.dir, "p.parquet")}' (FORMAT parquet)`,
      );
    } finally {
      c.closeSync();
      instance.closeSync();
    }
    const parquet = await box.run(["features", "import", "score", "--file", "p.parquet"]);
    expect(parquet.exitCode, String(parquet.stderr)).toBe(0);
    const get = await box.run(["features", "get", "score", "p1", "--as-of", "2025-01-03T00:00:00Z"]);
    expect(get.exitCode, String(get.stderr)).toBe(0);
    expect(String(get.stdout)).toContain("score(p1) = 2.5");
    expect(String(get.stdout)).toContain("as of 2025-01-02T00:00:00");
    expect(String(get.stdout)).toContain("(by event time)");
  });
});
