// A one-line progress bar on stderr (only when stderr is a terminal, so pipes and CI logs stay clean).
export interface Progress {
  update(done: number): void;
  done(): void;
}

export function createProgress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  const interactive = stream.isTTY === true;
  let last = 0;
  const draw = (done: number) => {
    const width = 30;
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(fraction * width);
    stream.write(`\r${label} [${"█".repeat(filled)}${"░".repeat(width - filled)}] ${done}/${total}`);
  };
  return {
    update(done) {
      if (!interactive) return;
      const now = Date.now();
      if (now - last < 50 && done < total) return;
      last = now;
      draw(done);
    },
    done() {
      if (!interactive) return;
      draw(total);
      stream.write("\n");
    },
  };
}
