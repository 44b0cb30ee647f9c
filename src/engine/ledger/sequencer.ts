// Runs the transparency log's sequencer step in the background: scheduled after each append (debounced by
// `delayMs`, so a burst of appends costs one step, and the request that appended never waits for it) and on an
// interval in `fabra serve` (for records other processes appended). At most one step runs at a time; a failure is
// reported, and the next schedule() tries again.
export class LogSequencer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private wake: (() => void) | null = null;
  private waiting: Promise<void> | null = null;

  constructor(
    private readonly step: () => Promise<unknown>,
    private readonly onError: (err: unknown) => void,
    private readonly delayMs = 250,
  ) {}

  /** Asks for a step within `delayMs`; never throws, never waits. */
  schedule(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    this.waiting ??= new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.loop();
    }, this.delayMs);
    this.timer.unref();
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.step();
      } catch (err) {
        this.onError(err);
      }
    } while (this.again);
    this.running = null;
    const wake = this.wake;
    this.wake = null;
    this.waiting = null;
    wake?.();
  }

  /** Resolves when no step is running or asked for (shutdown awaits it before the stores close); a step waiting
   * for its delay starts now. */
  async idle(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
      this.running = this.loop();
    }
    while (this.waiting || this.running) await (this.waiting ?? this.running);
  }
}
