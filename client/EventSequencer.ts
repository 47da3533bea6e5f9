import type { HeraldEvent, StreamMark } from './types.ts';

/**
 * Turns frames that may arrive duplicated (replay overlapping live) or ahead of a gap (a live event
 * overtaking a missed one) into a stream delivered exactly once and in position order. Positions
 * are gapless on the server, so a gap is always filled by resuming from the last delivered mark.
 */
export class EventSequencer {
  private mark?: StreamMark;
  private readonly held = new Map<number, HeraldEvent>();
  public duplicatesDropped = 0;

  public constructor(
    private readonly deliver: (event: HeraldEvent) => void,
    /** Told whenever the delivered position advances (including redacted events). */
    private readonly advanced: (mark: StreamMark) => void,
    initial?: StreamMark,
  ) {
    this.mark = initial;
  }

  /** The last delivered mark; undefined until a baseline is known. */
  public get current(): StreamMark | undefined {
    return this.mark;
  }

  /** True while events are held waiting for a missing position. */
  public get hasGap(): boolean {
    return this.held.size > 0;
  }

  /** Accepts events in arrival order. Returns true when a gap is open (the caller should resume). */
  public accept(events: readonly HeraldEvent[]): boolean {
    let foreign = false;
    for (const event of events) {
      // An event of another stream: the server's stream was reset. Positions are not comparable,
      // so deliver nothing of it; resuming gets cursor_stale and a fresh baseline.
      const stream = this.mark?.stream || [...this.held.values()][0]?.stream;
      if (stream && event.stream && event.stream !== stream) {
        foreign = true;
        continue;
      }
      if (this.mark !== undefined && event.position <= this.mark.position) {
        this.duplicatesDropped += 1;
        continue;
      }
      if (this.held.has(event.position)) {
        this.duplicatesDropped += 1;
        continue;
      }
      this.held.set(event.position, event);
    }
    this.drain();
    return this.hasGap || foreign;
  }

  /**
   * The server's view after a resume (`replay_complete`): sets the baseline if the client had none
   * (a fresh client starts at the head), then delivers what it can. Returns true if a gap remains.
   * `beforeDelivery` runs once the baseline is set, before any held event is delivered.
   */
  public replayComplete(mark: StreamMark, beforeDelivery?: () => void): boolean {
    if (this.mark === undefined || (this.mark.stream === undefined && mark.stream)) {
      this.mark = this.mark === undefined ? mark : { ...this.mark, stream: mark.stream };
      this.advanced(mark);
      for (const position of [...this.held.keys()]) {
        if (position <= mark.position) this.held.delete(position);
      }
    }
    beforeDelivery?.();
    this.drain();
    return this.hasGap;
  }

  /** History is gone (`cursor_stale`): continue from the server's head; held events are void. */
  public reset(mark: StreamMark): void {
    this.held.clear();
    this.mark = mark;
    this.advanced(mark);
  }

  /** The server refused the mark (`malformed_cursor`): start over without a baseline, as a fresh client. */
  public forget(): void {
    this.held.clear();
    this.mark = undefined;
  }

  private drain(): void {
    if (this.mark === undefined) return;
    for (;;) {
      const next = this.held.get(this.mark.position + 1);
      if (next === undefined) return;
      this.held.delete(next.position);
      this.mark = { cursor: next.cursor, position: next.position, ...(next.stream ? { stream: next.stream } : {}) };
      if (!next.redacted) this.deliver(next);
      this.advanced(this.mark);
    }
  }
}
