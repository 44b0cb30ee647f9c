// The approximate (HNSW) index beside the in-memory vector index, through hnswlib-node (native, an optional
// dependency): for indexes of at least `minChunks` chunks, where an exact scan is past the latency target.
//
// - Built explicitly (`fabra index add` builds it after writing an index that is large enough: VectorStore.optimize),
//   never on a query path: building 100k × 384 takes minutes, a query ~1 ms. A running `serve` rebuilds it after a
//   write through its routes, in steps between requests (exact search until it is done).
// - Saved beside the DuckDB file (`<file>.ann/<index>.hnsw` + a manifest naming, for each label, its chunk id and an
//   order-independent fingerprint of the chunks it was built from), so `context run` in the next process loads it in
//   well under a second instead of rebuilding it; a manifest that does not match the chunks loaded is ignored.
// - Any change to an index makes its graph stale: search falls back to the exact scan until it is built again.
// - When hnswlib-node cannot be loaded, there is no approximate index at all: exact search, and `fabra doctor` says why.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { ApproximateSearch, IndexData } from "./vector.js";

// The part of hnswlib-node's API used here, declared locally: the package is optional (a native build that can fail
// on install), so fabra must compile without it.
interface Graph {
  initIndex(opts: { maxElements: number; m: number; efConstruction: number; randomSeed: number }): void;
  addPoint(point: number[], label: number): void;
  setEf(ef: number): void;
  searchKnn(query: number[], k: number): { neighbors: number[]; distances: number[] };
  writeIndexSync(path: string): void;
  readIndexSync(path: string): void;
  getCurrentCount(): number;
}
interface Hnswlib {
  HierarchicalNSW: new (space: "ip", dimensions: number) => Graph;
}

/** Chunks below which an index is scanned exactly (the scan is well inside 20 ms there). */
export const DEFAULT_ANN_MIN_CHUNKS = 50_000;
const M = 16;
const EF_CONSTRUCTION = 100;
/** Candidates kept while searching (at least 6 × k): recall@10 ≥ 0.95 at 100k × 384 (BENCHMARKS.md, vector). */
export const DEFAULT_EF_SEARCH = 96;
/** Points added between two yields to the event loop while a graph is built (~10-50 ms of work at 384 dims). */
const BUILD_STEP = 256;
const MANIFEST_VERSION = 1;

interface Built {
  graph: Graph;
  /** Label → position in the IndexData it was built or loaded for. */
  positions: Int32Array;
  /** The IndexData generation the graph matches; any change after it makes the graph stale. */
  generation: number;
  data: IndexData;
}

interface Manifest {
  version: number;
  dimensions: number;
  fingerprint: string;
  /** Chunk id of each label. */
  ids: string[];
}

/** hnswlib-node, or why it could not be loaded. */
export function loadHnswlib(): { lib: Hnswlib } | { error: string } {
  try {
    const lib = createRequire(import.meta.url)("hnswlib-node") as Hnswlib;
    if (typeof lib.HierarchicalNSW !== "function") return { error: "hnswlib-node has no HierarchicalNSW" };
    return { lib };
  } catch (err) {
    return { error: (err as Error).message.split("\n")[0] ?? String(err) };
  }
}

export class HnswSearch implements ApproximateSearch {
  private readonly built = new Map<string, Built>();
  /** Indexes whose saved graph was looked for already (once per load: a bulk write calls attach per batch). */
  private readonly looked = new WeakSet<IndexData>();
  /** Builds under way, by index: for which data and generation. */
  private readonly building = new Map<string, { data: IndexData; generation: number; done: Promise<boolean> }>();
  private closed = false;

  /** The search's candidate list (hnswlib's ef) is max(efSearch, 6 × k); the vector bench sweeps it. */
  efSearch = DEFAULT_EF_SEARCH;

  constructor(
    private readonly lib: Hnswlib,
    /** Where graphs are saved (beside the DuckDB file), or null to keep them in memory only. */
    private readonly dir: string | null,
    readonly minChunks: number = DEFAULT_ANN_MIN_CHUNKS,
  ) {}

  describe(): string {
    const kept = this.dir ? `, saved in ${this.dir}` : "";
    return `HNSW (hnswlib-node) for indexes of ${this.minChunks.toLocaleString("en-US")}+ chunks, built by \`fabra index add\`${kept}; exact search below that or while a graph is stale`;
  }

  /** On load: a saved graph that matches these chunks is taken; otherwise the graph (if any) is left stale. */
  attach(name: string, data: IndexData): void {
    const current = this.built.get(name);
    if (current && current.data === data && current.generation === data.generation) return;
    if (current && current.data !== data) this.built.delete(name);
    if (current || data.size < this.minChunks || !this.dir || this.looked.has(data)) return;
    this.looked.add(data);
    this.loadSaved(name, data);
  }

  search(
    name: string,
    data: IndexData,
    query: Float32Array,
    topK: number,
  ): { at: number; similarity: number }[] | null {
    const built = this.built.get(name);
    if (!built || built.data !== data || built.generation !== data.generation) return null;
    const k = Math.min(topK, data.size);
    if (k <= 0) return [];
    built.graph.setEf(Math.max(this.efSearch, 6 * k));
    const result = built.graph.searchKnn(Array.from(query), k);
    return result.neighbors.map((label, i) => ({
      at: built.positions[label] as number,
      // "ip" space: distance = 1 - dot.
      similarity: 1 - (result.distances[i] as number),
    }));
  }

  /** Whether `name` has a graph matching `data` now. */
  fresh(name: string, data: IndexData): boolean {
    const built = this.built.get(name);
    return built !== undefined && built.data === data && built.generation === data.generation;
  }

  /**
   * Builds (and saves) the graph of an index of at least minChunks chunks; false when it is below that, or when the
   * index changed (or the store closed) before the graph was done. Points go in BUILD_STEP at a time with the event
   * loop let go between steps, so a server that builds after a write keeps answering meanwhile (by exact search: a
   * graph is used only once it is complete and matches the chunks). A second call for the same data while one is
   * running waits for it.
   */
  build(name: string, data: IndexData, onProgress?: (done: number, total: number) => void): Promise<boolean> {
    const running = this.building.get(name);
    if (running && running.data === data && running.generation === data.generation) return running.done;
    const done = this.buildInSteps(name, data, onProgress);
    const entry = { data, generation: data.generation, done };
    this.building.set(name, entry);
    const clear = () => {
      if (this.building.get(name) === entry) this.building.delete(name);
    };
    done.then(clear, clear);
    return done;
  }

  private async buildInSteps(
    name: string,
    data: IndexData,
    onProgress?: (done: number, total: number) => void,
  ): Promise<boolean> {
    if (data.size < this.minChunks) {
      this.built.delete(name);
      this.removeSaved(name);
      return false;
    }
    const generation = data.generation;
    const size = data.size;
    const dims = data.dimensions;
    const graph = new this.lib.HierarchicalNSW("ip", dims);
    graph.initIndex({ maxElements: size, m: M, efConstruction: EF_CONSTRUCTION, randomSeed: 100 });
    const point = new Array<number>(dims);
    const positions = new Int32Array(size);
    for (let at = 0; at < size; at++) {
      if (at % BUILD_STEP === 0 && at > 0) {
        await new Promise((resolve) => setImmediate(resolve));
        if (this.closed || data.generation !== generation) return false;
      }
      const base = at * dims;
      for (let d = 0; d < dims; d++) point[d] = data.vectors[base + d] as number;
      graph.addPoint(point, at);
      positions[at] = at;
      if (onProgress && at % 1000 === 999) onProgress(at + 1, size);
    }
    this.built.set(name, { graph, positions, generation, data });
    this.save(name, data, graph);
    return true;
  }

  async forget(name: string): Promise<void> {
    this.built.delete(name);
    this.removeSaved(name);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.built.clear();
  }

  private files(name: string): { graph: string; manifest: string } | null {
    if (!this.dir) return null;
    return { graph: join(this.dir, `${name}.hnsw`), manifest: join(this.dir, `${name}.json`) };
  }

  private save(name: string, data: IndexData, graph: Graph): void {
    const files = this.files(name);
    if (!files || !this.dir) return;
    try {
      mkdirSync(this.dir, { recursive: true });
      const manifest: Manifest = {
        version: MANIFEST_VERSION,
        dimensions: data.dimensions,
        fingerprint: fingerprint(data),
        ids: data.chunks.map((c) => c.chunkId),
      };
      // The graph first, then its manifest (each renamed into place): a manifest never names a graph half written.
      rmSync(files.manifest, { force: true });
      graph.writeIndexSync(`${files.graph}.tmp`);
      renameSync(`${files.graph}.tmp`, files.graph);
      writeFileSync(`${files.manifest}.tmp`, JSON.stringify(manifest));
      renameSync(`${files.manifest}.tmp`, files.manifest);
    } catch {
      // Not saved: the next process scans exactly until the graph is built again.
    }
  }

  private loadSaved(name: string, data: IndexData): void {
    const files = this.files(name);
    if (!files) return;
    try {
      const manifest = JSON.parse(readFileSync(files.manifest, "utf8")) as Manifest;
      if (manifest.version !== MANIFEST_VERSION || manifest.dimensions !== data.dimensions) return;
      if (manifest.ids.length !== data.size || manifest.fingerprint !== fingerprint(data)) return;
      const positions = new Int32Array(manifest.ids.length);
      for (const [label, id] of manifest.ids.entries()) {
        const at = data.positions.get(id);
        if (at === undefined) return;
        positions[label] = at;
      }
      const graph = new this.lib.HierarchicalNSW("ip", data.dimensions);
      graph.readIndexSync(files.graph);
      if (graph.getCurrentCount() !== data.size) return;
      this.built.set(name, { graph, positions, generation: data.generation, data });
    } catch {
      // No saved graph, or an unreadable one: exact search.
    }
  }

  private removeSaved(name: string): void {
    const files = this.files(name);
    if (!files) return;
    rmSync(files.manifest, { force: true });
    rmSync(files.graph, { force: true });
  }
}

/**
 * What the chunks are, whatever their order: sha256 over (chunk id, content hash, document hash) sorted by chunk id,
 * so a graph saved by one process matches the same chunks loaded by another.
 */
function fingerprint(data: IndexData): string {
  const rows = data.chunks.map(
    (c) => `${c.chunkId}\u0000${c.contentHash}\u0000${data.documents.get(c.documentId) ?? ""}`,
  );
  rows.sort();
  const hash = createHash("sha256");
  for (const r of rows) hash.update(r).update("\n");
  return hash.digest("hex");
}

/** The approximate search for a memory vector store, or why there is none (hnswlib-node did not load). */
export function openAnn(
  dir: string | null,
  minChunks: number = DEFAULT_ANN_MIN_CHUNKS,
): { ann: HnswSearch } | { ann: null; reason: string } {
  const loaded = loadHnswlib();
  if ("error" in loaded) return { ann: null, reason: loaded.error };
  return { ann: new HnswSearch(loaded.lib, dir, minChunks) };
}
