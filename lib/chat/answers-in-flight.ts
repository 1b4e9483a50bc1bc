import "server-only";

/**
 * Why the server (not the reader) ended an answer early: its conversation was
 * deleted (here, or on another instance: the answer's next save finds no
 * row), the server is shutting down, or another instance already closed the
 * answer (this one had stopped renewing its lease for too long).
 */
export type ServerStopReason = "deleted" | "shutdown" | "closed";

/** What the saved answer and the client's stream say for each reason. */
export const SERVER_STOP_MESSAGES: Record<ServerStopReason, string> = {
  deleted: "The conversation was deleted.",
  shutdown: "The server is shutting down; this answer was stopped. Try again when it is back.",
  closed: "This server stopped responding for a while and the answer was closed meanwhile. Try again.",
};

interface Answer {
  conversationId: string;
  /** Whose answer: only its owner can stop it. */
  userId: string;
  controller: AbortController;
  /** Resolves once the answer's final state is saved. */
  saved: Promise<void>;
}

export interface AnswerInFlight {
  /** Aborted when the server stops this answer (the conversation was deleted, or shutdown). */
  signal: AbortSignal;
  /** Why the server stopped it, once it has. */
  stopReason: () => ServerStopReason | undefined;
  /** Stops this answer for a reason of the server's own (the first reason given wins). */
  stop: (reason: ServerStopReason) => void;
  /** Call once the final state is saved: the answer leaves the registry. */
  end: () => void;
}

// On globalThis, like the engine: one registry per process, whatever module copy asks.
const holder = globalThis as { __answersInFlight?: Set<Answer>; __answersClosed?: boolean };
const answers = (holder.__answersInFlight ??= new Set<Answer>());

/** Answers this process has admitted and not yet saved (waiting for a slot, being written, or being saved). */
export const answersInFlight = (): number => answers.size;

/**
 * Registers an answer being written for a conversation, so that deleting the
 * conversation or shutting the server down can stop it at once.
 */
export function trackAnswer({ conversationId, userId }: { conversationId: string; userId: string }): AnswerInFlight {
  const controller = new AbortController();
  let end = () => {};
  const saved = new Promise<void>((resolve) => (end = resolve));
  const answer: Answer = { conversationId, userId, controller, saved };
  answers.add(answer);
  // A request that got past the server's door just before shutdown stops at once too.
  if (holder.__answersClosed) controller.abort("shutdown" satisfies ServerStopReason);
  return {
    signal: controller.signal,
    stopReason: () => (controller.signal.aborted ? (controller.signal.reason as ServerStopReason) : undefined),
    stop: (reason) => controller.abort(reason),
    end: () => {
      answers.delete(answer);
      end();
    },
  };
}

/**
 * Stops the answers being written for one of the user's conversations;
 * returns how many. Someone else's conversation id matches nothing.
 */
export function stopConversationAnswers({ conversationId, userId }: { conversationId: string; userId: string }): number {
  let n = 0;
  for (const a of answers) {
    if (a.conversationId !== conversationId || a.userId !== userId) continue;
    a.controller.abort("deleted" satisfies ServerStopReason);
    n++;
  }
  return n;
}

/**
 * Stops every answer being written (shutdown), and any started later in
 * this process, and resolves once each has saved its partial text, or after
 * `timeoutMs` (milliseconds). Returns how many were stopped.
 */
export async function stopAllAnswers({ timeoutMs }: { timeoutMs: number }): Promise<number> {
  holder.__answersClosed = true;
  const all = [...answers];
  for (const a of all) a.controller.abort("shutdown" satisfies ServerStopReason);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(all.map((a) => a.saved)),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
  ]);
  clearTimeout(timer);
  return all.length;
}
