// A one-line progress bar on stderr (only when stderr is a terminal, so pipes and CI logs stay clean), with the rate
// and the time left once there is enough to tell.
export interface Progress {
  /** `done` of the total; `detail` is shown after the counts (e.g. "3,200 chunks"). */
  update(done: number, detail?: string): void;
  done(): void;
}

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  /** Show items per second and the time left (after the first second). */
  rate?: boolean;
  /** The items' name in the rate ("docs/s"). */
  unit?: string;
  /** The clock (for tests). */
  now?: () => number;
}

export function createProgress(
  label: string,
  total: number,
  streamOrOptions: NodeJS.WriteStream | ProgressOptions = process.stderr,
): Progress {
  const options: ProgressOptions =
    "write" in streamOrOptions ? { stream: streamOrOptions as NodeJS.WriteStream } : streamOrOptions;
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const interactive = stream.isTTY === true;
  const started = now();
  let last = 0;
  let lastDetail = "";
  const draw = (done: number) => {
    stream.write(`\r${progressLine(label, done, total, now() - started, lastDetail, options)}\u001b[K`);
  };
  return {
    update(done, detail) {
      if (detail !== undefined) lastDetail = detail;
      if (!interactive) return;
      const t = now();
      if (t - last < 100 && done < total) return;
      last = t;
      draw(done);
    },
    done() {
      if (!interactive) return;
      draw(total);
      stream.write("\n");
    },
  };
}

/** The bar's text: label, bar, counts, detail and (with `rate`) the rate and the time left. */
export function progressLine(
  label: string,
  done: number,
  total: number,
  elapsedMs: number,
  detail = "",
  options: Pick<ProgressOptions, "rate" | "unit"> = {},
): string {
  const width = 30;
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(fraction * width);
  let line = `${label} [${"█".repeat(filled)}${"░".repeat(width - filled)}] ${done}/${total}`;
  if (detail !== "") line += ` · ${detail}`;
  if (options.rate && elapsedMs >= 1000 && done > 0) {
    const perSecond = done / (elapsedMs / 1000);
    line += ` · ${perSecond >= 10 ? Math.round(perSecond) : perSecond.toFixed(1)} ${options.unit ?? "items"}/s`;
    if (done < total) line += ` · ETA ${formatSeconds((total - done) / perSecond)}`;
  }
  return line;
}

function formatSeconds(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(s % 60).padStart(2, "0")}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}
