import { AppError } from "@/lib/errors";

interface Job {
  userId: string;
  start: () => void;
}

/**
 * Runs jobs at most `concurrency` at a time, at most one per user, taking
 * users in turn (the one served longest ago goes next): a user with a batch
 * of jobs gets one, then everyone else waiting gets theirs, so no one waits
 * behind somebody else's whole batch.
 * A user with `perUser` jobs waiting or running is refused (429 with a
 * Retry-After from the jobs' recent duration). In memory: each app instance
 * has its own.
 */
export class FairQueue {
  /** Waiting jobs by user, in the order the users arrived. */
  private readonly waiting = new Map<string, Job[]>();
  private readonly running = new Set<string>();
  /** When each user with jobs pending last had one started (a counter): the longest unserved goes next. */
  private readonly lastTurn = new Map<string, number>();
  private turns = 0;
  /** Recent job duration (exponential average), in ms, for Retry-After. */
  private averageMs = 10_000;

  constructor(private readonly opts: { concurrency: () => number; perUser: () => number }) {}

  /** Jobs of this user waiting or running. */
  pending(userId: string): number {
    return (this.waiting.get(userId)?.length ?? 0) + (this.running.has(userId) ? 1 : 0);
  }

  /** Jobs waiting, all users. */
  get length(): number {
    let n = 0;
    for (const jobs of this.waiting.values()) n += jobs.length;
    return n;
  }

  /**
   * Runs `work` when its turn comes. An abort while it waits takes it out of
   * the queue and rejects with the signal's reason; once running, `work`
   * gets the signal itself.
   */
  run<T>(userId: string, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    const mine = this.pending(userId);
    const max = this.opts.perUser();
    if (mine >= max) {
      const retryAfterSeconds = Math.max(1, Math.ceil((this.averageMs * mine) / 1000));
      throw new AppError(
        "rate_limited:image_queue",
        `You have ${mine} image generation${mine === 1 ? "" : "s"} waiting or running (at most ${max} at once). Try again in ${retryAfterSeconds} seconds.`,
        { retryAfterSeconds },
      );
    }
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        userId,
        start: () => {
          signal?.removeEventListener("abort", onAbort);
          const t0 = Date.now();
          work()
            .then(resolve, reject)
            .finally(() => {
              this.averageMs = 0.7 * this.averageMs + 0.3 * (Date.now() - t0);
              this.running.delete(userId);
              if (!this.waiting.has(userId)) this.lastTurn.delete(userId);
              this.pump();
            });
        },
      };
      const onAbort = () => {
        const jobs = this.waiting.get(userId);
        const i = jobs?.indexOf(job) ?? -1;
        if (i < 0) return;
        jobs!.splice(i, 1);
        if (!jobs!.length) this.waiting.delete(userId);
        if (!this.pending(userId)) this.lastTurn.delete(userId);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const jobs = this.waiting.get(userId);
      if (jobs) jobs.push(job);
      else this.waiting.set(userId, [job]);
      this.pump();
    });
  }

  private pump(): void {
    while (this.running.size < this.opts.concurrency()) {
      let next: string | undefined;
      for (const user of this.waiting.keys()) {
        if (this.running.has(user)) continue;
        if (next === undefined || (this.lastTurn.get(user) ?? -1) < (this.lastTurn.get(next) ?? -1)) next = user;
      }
      if (next === undefined) return;
      const jobs = this.waiting.get(next)!;
      const job = jobs.shift()!;
      if (!jobs.length) this.waiting.delete(next);
      this.lastTurn.set(next, this.turns++);
      this.running.add(next);
      job.start();
    }
  }
}
