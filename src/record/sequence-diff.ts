// Sequence diff (Myers' O(ND) algorithm) over arrays of strings, unified hunks, and a similarity ratio.
// Pure and deterministic: the same inputs always give the same edit script.

export type EditOp = { op: "equal" | "delete" | "insert"; a: number; b: number };

/** Past this many edits the search stops and the middle is reported as replaced wholesale (still a valid diff). */
const DEFAULT_MAX_EDITS = 4000;

/**
 * The shortest edit script turning `a` into `b`: one op per element, `a`/`b` the indexes it refers to.
 * Common prefix and suffix are matched first; if the middle needs more than `maxEdits` edits it is
 * reported as deleted then inserted, which is correct but not minimal.
 */
export function diffSequences(a: readonly string[], b: readonly string[], maxEdits = DEFAULT_MAX_EDITS): EditOp[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const ops: EditOp[] = [];
  for (let i = 0; i < start; i++) ops.push({ op: "equal", a: i, b: i });
  const middle = myers(a, b, start, endA, start, endB, maxEdits);
  if (middle) ops.push(...middle);
  else {
    for (let i = start; i < endA; i++) ops.push({ op: "delete", a: i, b: start });
    for (let j = start; j < endB; j++) ops.push({ op: "insert", a: endA, b: j });
  }
  for (let i = endA, j = endB; i < a.length; i++, j++) ops.push({ op: "equal", a: i, b: j });
  return ops;
}

function myers(a: readonly string[], b: readonly string[], a0: number, a1: number, b0: number, b1: number, maxEdits: number): EditOp[] | null {
  const n = a1 - a0;
  const m = b1 - b0;
  if (n === 0 && m === 0) return [];
  const max = Math.min(n + m, maxEdits);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x: number;
      if (k === -d || (k !== d && (v[offset + k - 1] as number) < (v[offset + k + 1] as number))) x = v[offset + k + 1] as number;
      else x = (v[offset + k - 1] as number) + 1;
      let y = x - k;
      while (x < n && y < m && a[a0 + x] === b[b0 + y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(trace, d, n, m, a0, b0);
    }
  }
  return null;
}

/** Walks the saved frontiers back from (n, m) to (0, 0), emitting ops in forward order. */
function backtrack(trace: Int32Array[], dEnd: number, n: number, m: number, a0: number, b0: number): EditOp[] {
  const ops: EditOp[] = [];
  let x = n;
  let y = m;
  for (let d = dEnd; d > 0; d--) {
    const frame = trace[d] as Int32Array; // frontier before step d, covering k in [-d-1, d+1]
    const at = (k: number) => frame[k + d + 1] as number;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      x--;
      y--;
      ops.push({ op: "equal", a: a0 + x, b: b0 + y });
    }
    if (x === prevX) ops.push({ op: "insert", a: a0 + x, b: b0 + prevY });
    else ops.push({ op: "delete", a: a0 + prevX, b: b0 + y });
    x = prevX;
    y = prevY;
  }
  while (x > 0 && y > 0) {
    x--;
    y--;
    ops.push({ op: "equal", a: a0 + x, b: b0 + y });
  }
  return ops.reverse();
}

/** difflib's ratio: 2·matches / (len(a) + len(b)); 1 when both are empty. */
export function similarityRatio(ops: readonly EditOp[], lengthA: number, lengthB: number): number {
  if (lengthA + lengthB === 0) return 1;
  const matches = ops.reduce((n, o) => (o.op === "equal" ? n + 1 : n), 0);
  return (2 * matches) / (lengthA + lengthB);
}

export interface UnifiedLine {
  kind: "context" | "delete" | "insert" | "hunk";
  text: string;
}

/** Unified-diff hunks (`@@ -a,n +b,m @@` then ` `/`-`/`+` lines) with `context` lines around each change. */
export function unifiedHunks(a: readonly string[], b: readonly string[], ops: readonly EditOp[], context = 3): UnifiedLine[] {
  const changes = ops.map((o, i) => (o.op === "equal" ? -1 : i)).filter((i) => i >= 0);
  if (changes.length === 0) return [];
  // Group change indexes whose gap of equal lines is at most 2·context into one hunk.
  const groups: [number, number][] = [];
  let first = changes[0] as number;
  let last = first;
  for (const i of changes.slice(1)) {
    if (i - last - 1 > 2 * context) {
      groups.push([first, last]);
      first = i;
    }
    last = i;
  }
  groups.push([first, last]);

  const out: UnifiedLine[] = [];
  for (const [gFirst, gLast] of groups) {
    const from = Math.max(0, gFirst - context);
    const to = Math.min(ops.length - 1, gLast + context);
    const slice = ops.slice(from, to + 1);
    const aLines = slice.filter((o) => o.op !== "insert").length;
    const bLines = slice.filter((o) => o.op !== "delete").length;
    const head = slice[0] as EditOp;
    const aStart = aLines === 0 ? head.a : head.a + 1;
    const bStart = bLines === 0 ? head.b : head.b + 1;
    out.push({ kind: "hunk", text: `@@ -${range(aStart, aLines)} +${range(bStart, bLines)} @@` });
    for (const o of slice) {
      if (o.op === "equal") out.push({ kind: "context", text: " " + (a[o.a] as string) });
      else if (o.op === "delete") out.push({ kind: "delete", text: "-" + (a[o.a] as string) });
      else out.push({ kind: "insert", text: "+" + (b[o.b] as string) });
    }
  }
  return out;
}

function range(start: number, count: number): string {
  return count === 1 ? String(start) : `${start},${count}`;
}
