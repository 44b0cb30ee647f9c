// Runs the transparency log's sequencer step in the background: scheduled after each append (debounced by
// `delayMs`, so a burst of appends costs one step, and the request that appended never waits for it) and on an
// interval in `fabra serve` (for records other processes appended). At most one step runs at a time, and while
// appends keep coming at most one starts per `delayMs` (a step integrates what was pending when it began; the next
// waits out the delay, so the log's transactions stay few and apart from the appends'). A failure is reported, and
// the next schedule() tries again.
export class LogSequencer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private wake: (() => void) | null = null;
  private waiting: Promise<void> | null = null;
  /** Ends the pause between two steps early (idle() calls it). */
  private hurry: (() => void) | null = null;
  /** Set by idle(): the steps still asked for run back to back. */
  private draining = false;
  /** From the first line of loop() to its last (`running` is only set once loop() has returned its promise). */
  private looping = false;

  constructor(
    private readonly step: () => Promise<unknown>,
    private readonly onError: (err: unknown) => void,
    private readonly delayMs = 250,
  ) {}

  /** Asks for a step within `delayMs`; never throws, never waits. */
  schedule(): void {
    if (this.looping) {
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
    this.looping = true;
    do {
      this.again = false;
      try {
        await this.step();
      } catch (err) {
        this.onError(err);
      }
      if (this.again && !this.draining) await this.pause();
    } while (this.again);
    this.looping = false;
    this.running = null;
    this.draining = false;
    const wake = this.wake;
    this.wake = null;
    this.waiting = null;
    wake?.();
  }

  /** The delay between two steps of one burst (ended early by idle()). */
  private pause(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.hurry = null;
        resolve();
      };
      const timer = setTimeout(done, this.delayMs);
      timer.unref();
      this.hurry = done;
    });
  }

  /** Resolves when no step is running or asked for (shutdown awaits it before the stores close); a step waiting
   * for its delay starts now, and the steps still asked for run without one. */
  async idle(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
      this.running = this.loop();
    }
    if (this.looping) this.draining = true;
    this.hurry?.();
    while (this.waiting || this.running) await (this.waiting ?? this.running);
  }
}
