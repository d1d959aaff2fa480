/**
 * One sleeper, woken early by `poke` (a watch event) or by the abort signal. A poke that comes
 * while nobody sleeps is kept, so an event that arrives during a write is never lost.
 */
export class Wakeup {
  private pending = false;
  private wake: (() => void) | undefined;

  poke(): void {
    this.pending = true;
    this.wake?.();
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (this.pending || signal.aborted) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.wake = undefined;
        this.pending = false;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }
}
