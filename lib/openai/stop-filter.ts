/**
 * Applies OpenAI `stop` sequences to a stream of text deltas: text is
 * released only once it cannot be the start of a stop sequence, and the
 * first stop sequence ends the answer (it is not part of the output).
 */
export class StopFilter {
  private held = "";
  stopped = false;

  constructor(private readonly stops: string[]) {}

  /** The text that can be released after this delta (empty while it might start a stop sequence). */
  push(delta: string): string {
    if (this.stopped) return "";
    if (!this.stops.length) return delta;
    this.held += delta;
    let cut = -1;
    for (const s of this.stops) {
      const i = this.held.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.stopped = true;
      const out = this.held.slice(0, cut);
      this.held = "";
      return out;
    }
    // Keep the longest tail that is a prefix of some stop sequence.
    let keep = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, this.held.length); n > keep; n--) {
        if (this.held.endsWith(s.slice(0, n))) {
          keep = n;
          break;
        }
      }
    }
    const out = this.held.slice(0, this.held.length - keep);
    this.held = this.held.slice(this.held.length - keep);
    return out;
  }

  /** What is still held back when the answer ends without a stop sequence. */
  flush(): string {
    const out = this.stopped ? "" : this.held;
    this.held = "";
    return out;
  }
}
