// Stage one of the canonical scan (canonical-scan.ts), the part that touches every byte: a 16-bytes-at-a-time
// WebAssembly SIMD loop that proves every byte is printable ASCII (0x20..0x7E, as canonical text is: rule 2 escapes
// everything else) and lists where each `"` and `\` is. The scan then walks only those positions and the few bytes
// between strings, never a string's body byte by byte. The module is assembled here from its instructions (below, with
// the text form beside each), so there is no binary file to trust; test/unit/verify-byte-index.test.ts checks it
// against a plain loop. The text is copied into the module's memory, which the fast path then also hashes from (it
// is this module's own scratch space, so the hashing text can be built in it).

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
const LOAD = simd(0x00, 4, 0); // v128.load align=16 offset=0
const STORE32 = [0x36, 2, 0]; // i32.store align=4 offset=0
const [ADD, SUB32, AND, SHR_U, CTZ, EQZ, GE_U] = [0x6a, 0x6b, 0x71, 0x76, 0x68, 0x45, 0x4f];
const [BLOCK, LOOP, IF, ELSE, END, BR, BR_IF] = [0x02, 0x03, 0x04, 0x05, 0x0b, 0x0c, 0x0d];
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

const MODULE = Uint8Array.from([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // \0asm, version 1
  ...section(1, vec([[0x60, 2, I32, I32, 1, I32]])), // type 0: (i32, i32) -> i32
  ...section(3, vec([[0]])), // function 0 has type 0
  ...section(5, vec([[0x00, 1]])), // one memory, at least 1 page
  ...section(
    7,
    vec([
      [...name("scan"), 0x00, 0],
      [...name("mem"), 0x02, 0],
    ]),
  ),
  ...section(
    10,
    vec([
      [
        ...uleb(body.length + 5),
        ...vec([
          [3, I32],
          [6, V128],
        ]),
        ...body,
      ],
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
}

let view: Buffer = Buffer.alloc(0);
let positions: Uint32Array = new Uint32Array(0);

/**
 * Copies `text` into the module's memory and indexes it; null when a byte is not printable ASCII (the text is not
 * canonical) or WebAssembly is unavailable. Synchronous, one at a time: the result is valid until the next call.
 */
export function indexBytes(text: Uint8Array): ByteIndex | null {
  const m = module();
  if (m === null) return null;
  const len = text.length;
  const padded = (len + 15) & ~15;
  const out = padded + 16;
  const need = out + 4 * len + 16;
  if (m.mem.buffer.byteLength < need) m.mem.grow(Math.ceil((need - m.mem.buffer.byteLength) / 65536));
  if (view.buffer !== m.mem.buffer) {
    view = Buffer.from(m.mem.buffer);
    positions = new Uint32Array(m.mem.buffer);
  }
  view.set(text, 0);
  // 'A': printable, neither quote nor backslash (and what the scan reads past the end)
  view.fill(0x41, len, padded + 16);
  const count = m.scan(len, out);
  if (count < 0) return null;
  return { bytes: view.subarray(0, len), positions: positions.subarray(out >> 2, (out >> 2) + count), count };
}
