/**
 * The embedded server's clock (`cairn.clock`). It follows real time until told otherwise, so
 * items written in a test get distinct, increasing `_createdDate`s as they would on a live site;
 * `advance` and `set` move it (scheduled publishing fires when its date is reached), `freeze`
 * stops it. Each move wakes the task runner, which fires the schedules that became due at once
 * instead of at its next poll; awaiting the move waits until it has.
 */
import type { Clock } from '../clock.js';

export class CairnClock implements Clock {
  /** Milliseconds added to the base clock while it runs. */
  private offset = 0;
  /** The fixed time while frozen. */
  private frozenAt: number | undefined;

  constructor(
    private readonly base: Clock,
    /** Resolves once the runner has fired what became due (set by createCairn). */
    private readonly moved: () => Promise<void>,
    start?: Date | number,
  ) {
    if (start !== undefined) this.frozenAt = typeof start === 'number' ? start : start.getTime();
  }

  now(): Date {
    return new Date(this.frozenAt ?? this.base.now().getTime() + this.offset);
  }

  /** True while the clock stands still (`freeze`, or created with a start time). */
  get frozen(): boolean {
    return this.frozenAt !== undefined;
  }

  /** Moves time forward (or back, with a negative ms); resolves once due schedules have fired. */
  advance(ms: number): Promise<void> {
    if (!Number.isFinite(ms)) throw new RangeError(`clock.advance needs a finite number of ms, not ${ms}`);
    if (this.frozenAt !== undefined) this.frozenAt += ms;
    else this.offset += ms;
    return this.moved();
  }

  /** Jumps to `to`; a running clock keeps running from there. Resolves once due schedules have fired. */
  set(to: Date | number | string): Promise<void> {
    const t = new Date(to).getTime();
    if (Number.isNaN(t)) throw new RangeError(`clock.set needs a valid date, not ${String(to)}`);
    if (this.frozenAt !== undefined) this.frozenAt = t;
    else this.offset = t - this.base.now().getTime();
    return this.moved();
  }

  /** Stops the clock (at `at`, or where it is now). */
  freeze(at?: Date | number | string): Promise<void> {
    const t = at === undefined ? this.now().getTime() : new Date(at).getTime();
    if (Number.isNaN(t)) throw new RangeError(`clock.freeze needs a valid date, not ${String(at)}`);
    this.frozenAt = t;
    return this.moved();
  }

  /** Lets a frozen clock run again from where it stands. */
  resume(): void {
    if (this.frozenAt === undefined) return;
    this.offset = this.frozenAt - this.base.now().getTime();
    this.frozenAt = undefined;
  }
}
