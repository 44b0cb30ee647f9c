// Runs the transparency log's sequencer step in the background: scheduled after each append (coalesced, so a burst
// of appends costs one step, and the request that appended never waits for it) and on an interval in `fabra serve`
// (for records other processes appended). At most one step runs at a time; a failure is reported, then retried.
export class LogSequencer {
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly step: () => Promise<unknown>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Asks for a step soon; never throws, never waits. */
  schedule(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop();
  }

  private async loop(): Promise<void> {
    await Promise.resolve();
    do {
      this.again = false;
      try {
        await this.step();
      } catch (err) {
        this.onError(err);
      }
    } while (this.again);
    this.running = null;
  }

  /** Resolves when no step is running or asked for (shutdown awaits it before the stores close). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }
}
