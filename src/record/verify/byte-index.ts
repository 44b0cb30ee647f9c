// Stage one of the canonical scan (canonical-scan.ts), the part that touches every byte: a 16-bytes-at-a-time
// WebAssembly SIMD loop that proves every byte is printable ASCII (0x20..0x7E, as canonical text is: rule 2 escapes
// everything else) and lists where each `"` and `\` is. The scan then walks only those positions and the few bytes
// between strings, never a string's body byte by byte. The module is assembled here from its instructions (below, with
// the text form beside each), so there is no binary file to trust; test/unit/verify-canonical-scan.test.ts checks it
// against a plain loop. The text is copied into the module's memory, which the fast path then also hashes from (it
// is this module's own scratch space, so the hashing text can be built in it). Its second function, `keys`, is the
// scan's last step: the walk lists where each fixed key and enum value must be, and one call compares them all with
// their bytes in the module's table, 8 at a time (a JS loop over each key cost ~30 % of the walk).

/** Signed LEB128, as wasm writes i32 constants. */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** A section: id, then its contents with their length (all < 128 bytes long here except code). */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, "latin1")];

// Opcodes (core and the 0xFD SIMD prefix).
const I32 = 0x7f;
const V128 = 0x7b;
const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];
const i32 = (n: number) => [0x41, ...sleb(n)];
const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
const SPLAT = simd(0x0f); // i8x16.splat
const EQ = simd(0x23); // i8x16.eq
const GT_U = simd(0x28); // i8x16.gt_u
const OR = simd(0x50); // v128.or
const ANY_TRUE = simd(0x53); // v128.any_true
const BITMASK = simd(0x64); // i8x16.bitmask
const SUB = simd(0x71); // i8x16.sub
/** Where the text lies in the module's memory; below it, the table of fixed keys (keyEntry). */
const TEXT_AT = 4096;
const LOAD = simd(0x00, 4, ...uleb(TEXT_AT)); // v128.load align=16 offset=TEXT_AT
const STORE32 = [0x36, 2, 0]; // i32.store align=4 offset=0
const LOAD32 = (offset: number) => [0x28, 2, offset]; // i32.load align=4 offset
const LOAD64 = (offset: number) => [0x29, 0, ...uleb(offset)]; // i64.load align=1 offset
const [ADD, SUB32, AND, SHR_U, CTZ, EQZ, GE_U, LT_U, SHL32] = [0x6a, 0x6b, 0x71, 0x76, 0x68, 0x45, 0x4f, 0x49, 0x74];
const [MUL32, XOR64, AND64, SHL64, SUB64, NE64, EXTEND_U] = [0x6c, 0x85, 0x83, 0x86, 0x7d, 0x52, 0xad];
const i64 = (n: number) => [0x42, ...sleb(n)];
const [BLOCK, LOOP, IF, ELSE, END, BR, BR_IF, RETURN] = [0x02, 0x03, 0x04, 0x05, 0x0b, 0x0c, 0x0d, 0x0f];
const VOID = 0x40;

// scan(len, out) -> count | -1. Params 0 len, 1 out; locals 2 i, 3 p, 4 mask (i32); 5 v, 6 bad, 7 k20, 8 k5e, 9 kq,
// 10 kb (v128). The text is at [0, len) and padded to a multiple of 16 with bytes that are neither quote nor
// backslash but printable; positions are written as u32 from `out` (16-aligned, after the padded text).
const body = [
  ...[...i32(0x20), ...SPLAT, ...set(7)], // k20 = splat 0x20
  ...[...i32(0x5e), ...SPLAT, ...set(8)], // k5e = splat 0x5e (0x7e - 0x20)
  ...[...i32(0x22), ...SPLAT, ...set(9)], // kq = splat '"'
  ...[...i32(0x5c), ...SPLAT, ...set(10)], // kb = splat '\'
  ...[...get(1), ...set(3)], // p = out
  BLOCK,
  VOID,
  LOOP,
  VOID,
  ...[...get(2), ...get(0), GE_U, BR_IF, 1], // if i >= len: break
  ...[...get(2), ...LOAD, ...set(5)], // v = load(i)
  // bad |= (v - 0x20) >u 0x5e: a byte outside 0x20..0x7e
  ...[...get(6), ...get(5), ...get(7), ...SUB, ...get(8), ...GT_U, ...OR, ...set(6)],
  // mask = bitmask((v == '"') | (v == '\'))
  ...[...get(5), ...get(9), ...EQ, ...get(5), ...get(10), ...EQ, ...OR, ...BITMASK, ...set(4)],
  BLOCK,
  VOID,
  LOOP,
  VOID,
  ...[...get(4), EQZ, BR_IF, 1], // no bit left: done with this block of 16
  ...[...get(3), ...get(2), ...get(4), CTZ, ADD, ...STORE32], // *p = i + ctz(mask)
  ...[...get(3), ...i32(4), ADD, ...set(3)], // p += 4
  ...[...get(4), ...get(4), ...i32(1), SUB32, AND, ...set(4)], // mask &= mask - 1
  BR,
  0,
  END,
  END,
  ...[...get(2), ...i32(16), ADD, ...set(2)], // i += 16
  BR,
  0,
  END,
  END,
  ...[...get(6), ...ANY_TRUE],
  IF,
  I32,
  ...i32(-1),
  ELSE,
  ...[...get(3), ...get(1), SUB32, ...i32(2), SHR_U], // (p - out) / 4
  END,
  END,
];

// keys(list, n) -> 1 | 0: whether each of the n pairs (u32 pos, u32 entry) at `list` has the text at `pos` equal to
// its table entry's bytes (at `entry`: u32 length, the bytes from entry + 8, zero-padded to 8). Params 0 list, 1 n;
// locals 2 end, 3 a, 4 t, 5 l (i32). Compared 8 bytes at a time, the last < 8 under a mask (what is read past a key is
// text or its padding, masked off).
const keysBody = [
  ...[...get(0), ...get(1), ...i32(8), MUL32, ADD, ...set(2)], // end = list + n * 8
  BLOCK,
  VOID,
  LOOP,
  VOID,
  ...[...get(0), ...get(2), GE_U, BR_IF, 1], // if list >= end: break
  ...[...get(0), ...LOAD32(0), ...set(3)], // a = pos (the text's address is TEXT_AT + a, in the loads' offset)
  ...[...get(0), ...LOAD32(4), ...set(4)], // t = entry
  ...[...get(4), ...LOAD32(0), ...set(5)], // l = its length
  BLOCK,
  VOID,
  LOOP,
  VOID,
  ...[...get(5), ...i32(8), LT_U, BR_IF, 1], // if l < 8: break
  ...[...get(3), ...LOAD64(TEXT_AT), ...get(4), ...LOAD64(8), NE64, IF, VOID, ...i32(0), RETURN, END],
  ...[...get(3), ...i32(8), ADD, ...set(3)], // a += 8
  ...[...get(4), ...i32(8), ADD, ...set(4)], // t += 8
  ...[...get(5), ...i32(8), SUB32, ...set(5)], // l -= 8
  BR,
  0,
  END,
  END,
  // the last l (< 8) bytes: ((text ^ key) & ((1 << 8l) - 1)) != 0 means a difference
  ...[...get(5), IF, VOID],
  ...[...get(3), ...LOAD64(TEXT_AT), ...get(4), ...LOAD64(8), XOR64],
  ...[...i64(1), ...get(5), ...i32(3), SHL32, EXTEND_U, SHL64, ...i64(1), SUB64, AND64],
  ...[...i64(0), NE64, IF, VOID, ...i32(0), RETURN, END],
  END,
  ...[...get(0), ...i32(8), ADD, ...set(0)], // list += 8
  BR,
  0,
  END,
  END,
  ...i32(1),
  END,
];

const code = (locals: number[][], instructions: number[]): number[] => {
  const bodyBytes = [...vec(locals), ...instructions];
  return [...uleb(bodyBytes.length), ...bodyBytes];
};

const MODULE = Uint8Array.from([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // \0asm, version 1
  ...section(1, vec([[0x60, 2, I32, I32, 1, I32]])), // type 0: (i32, i32) -> i32
  ...section(3, vec([[0], [0]])), // functions 0 and 1 have type 0
  ...section(5, vec([[0x00, 1]])), // one memory, at least 1 page
  ...section(
    7,
    vec([
      [...name("scan"), 0x00, 0],
      [...name("keys"), 0x00, 1],
      [...name("mem"), 0x02, 0],
    ]),
  ),
  ...section(
    10,
    vec([
      code(
        [
          [3, I32],
          [6, V128],
        ],
        body,
      ),
      code([[4, I32]], keysBody),
    ]),
  ),
]);

/** The little of the WebAssembly API used here (the project's TypeScript libs do not declare it). */
interface Memory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface Wasm {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}

interface Exports {
  scan(len: number, out: number): number;
  keys(list: number, n: number): number;
  mem: Memory;
}

let exports: Exports | null | undefined;

/** The module, or null where WebAssembly SIMD is unavailable (then the fast path is off and the full path decides). */
function module(): Exports | null {
  if (exports !== undefined) return exports;
  try {
    const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;
    const instance = new wasm.Instance(new wasm.Module(MODULE));
    exports = instance.exports as unknown as Exports;
  } catch {
    exports = null;
  }
  return exports;
}

/** The text in the module's memory, and the positions of its quotes and backslashes. */
export interface ByteIndex {
  /** The text's bytes (a view of the module's memory: valid until the next `indexBytes`). */
  bytes: Buffer;
  /** The positions of every `"` and `\` in the text, in order: `positions[0, count)`. */
  positions: Uint32Array;
  count: number;
  /**
   * Where the caller lists the fixed keys to compare (keysMatch): pairs (the key's position in the text, its
   * keyEntry) from `keys[keysFrom]`, room for count / 2 of them (each key takes two of the positions: its quotes).
   */
  keys: Uint32Array;
  keysFrom: number;
}

let view: Buffer = Buffer.alloc(0);
let words: Uint32Array = new Uint32Array(0);
let keysAt = 0;

/** Where the next key entry goes, below TEXT_AT. */
let tableEnd = 16;

function ensureViews(m: Exports): void {
  if (view.buffer !== m.mem.buffer) {
    view = Buffer.from(m.mem.buffer);
    words = new Uint32Array(m.mem.buffer);
  }
}

/**
 * Puts a fixed key (its bytes as the text must hold them) in the module's table, once, when the scan's schema is
 * built; returns the entry to list with the key's position (ByteIndex.keys), or -1 where WebAssembly is unavailable
 * (indexBytes then gives null and nothing is compared).
 */
export function keyEntry(key: Uint8Array): number {
  const m = module();
  if (m === null) return -1;
  const entry = tableEnd;
  const end = entry + 8 + ((key.length + 7) & ~7);
  if (end > TEXT_AT) throw new Error("the scan's key table is full"); // a schema this size is a bug, not input
  ensureViews(m);
  view.writeUInt32LE(key.length, entry);
  view.fill(0, entry + 4, end);
  view.set(key, entry + 8);
  tableEnd = end;
  return entry;
}

/**
 * Whether every key listed (the first `n` pairs from the last index's `keysFrom`) is at its position in the text:
 * one call compares them all, eight bytes at a time.
 */
export function keysMatch(n: number): boolean {
  const m = module();
  return m !== null && m.keys(keysAt, n) === 1;
}

/**
 * Copies `text` into the module's memory and indexes it; null when a byte is not printable ASCII (the text is not
 * canonical) or WebAssembly is unavailable. Synchronous, one at a time: the result is valid until the next call.
 */
export function indexBytes(text: Uint8Array): ByteIndex | null {
  const m = module();
  if (m === null) return null;
  const len = text.length;
  const padded = (len + 15) & ~15;
  const out = TEXT_AT + padded + 16;
  // the text, its padding, the positions (at most one a byte), the key pairs (at most one per two positions)
  const need = out + 8 * len + 16;
  if (m.mem.buffer.byteLength < need) m.mem.grow(Math.ceil((need - m.mem.buffer.byteLength) / 65536));
  ensureViews(m);
  view.set(text, TEXT_AT);
  // 'A': printable, neither quote nor backslash (and what the scan reads past the end)
  view.fill(0x41, TEXT_AT + len, TEXT_AT + padded + 16);
  const count = m.scan(len, out);
  if (count < 0) return null;
  keysAt = out + 4 * count;
  return {
    bytes: view.subarray(TEXT_AT, TEXT_AT + len),
    positions: words.subarray(out >> 2, (out >> 2) + count),
    count,
    keys: words,
    keysFrom: keysAt >> 2,
  };
}
