/**
 * Fixed-window request counters, per process: per principal (API key, member, or the address of
 * an anonymous caller) for the request rate, and per address for failed authentications (so
 * keys cannot be guessed at speed). Written here rather than taken from @fastify/rate-limit: it
 * runs inside the one authentication hook (no second hook on every request, which the GET-by-id
 * benchmark feels), and a limit answers in the Wix envelope (WDE0014) like every other error.
 * Several API processes each count their own requests: a cluster-wide limit belongs in front
 * of them (a proxy), and docs/security.md says so.
 */
export class WindowCounter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(
    readonly max: number,
    readonly windowMs: number,
    /** Bound on remembered principals; the oldest windows are dropped when it is reached. */
    private readonly limit = 100_000,
  ) {}

  /** Counts one event for `key`; returns the ms until its window ends when the count is over `max`, else 0. */
  hit(key: string, now = Date.now()): number {
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      if (w) this.windows.delete(key);
      else if (this.windows.size >= this.limit) this.prune(now);
      w = { count: 0, resetAt: now + this.windowMs };
      this.windows.set(key, w);
    }
    w.count++;
    return w.count > this.max ? w.resetAt - now : 0;
  }

  /** The ms until `key` may try again, without counting (0: not over the limit). */
  blockedFor(key: string, now = Date.now()): number {
    const w = this.windows.get(key);
    return w && w.resetAt > now && w.count >= this.max ? w.resetAt - now : 0;
  }

  private prune(now: number): void {
    for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
    // Still full: drop the oldest half (Map iterates in insertion order).
    if (this.windows.size >= this.limit) {
      let n = this.windows.size / 2;
      for (const k of this.windows.keys()) {
        if (n-- <= 0) break;
        this.windows.delete(k);
      }
    }
  }
}
