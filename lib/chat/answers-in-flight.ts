import "server-only";

/**
 * Why the server (not the reader) ended an answer early: its conversation was
 * deleted (here, or on another instance: the answer's next save finds no
 * row), the server is shutting down, or another instance already closed the
 * answer (this one had stopped renewing its lease for too long).
 */
export type ServerStopReason = "deleted" | "message_deleted" | "shutdown" | "closed";

/** Why an answer was stopped: the server's reasons, or Stop pressed in any tab (or on any instance). */
export type StopReason = ServerStopReason | "user";

/** What the saved answer and the client's stream say for each reason. */
export const SERVER_STOP_MESSAGES: Record<ServerStopReason, string> = {
  deleted: "The conversation was deleted.",
  message_deleted: "The message was deleted.",
  shutdown: "The server is shutting down; this answer was stopped. Try again when it is back.",
  closed: "This server stopped responding for a while and the answer was closed meanwhile. Try again.",
};

interface Answer {
  conversationId: string;
  /** The answer's message, once its row exists. */
  messageId?: string;
  /** Whose answer: only its owner can stop it. */
  userId: string;
  controller: AbortController;
  /** Resolves once the answer's final state is saved. */
  saved: Promise<void>;
}

export interface AnswerInFlight {
  /** Aborted when this answer is stopped (Stop, the conversation was deleted, shutdown): never by a reader leaving. */
  signal: AbortSignal;
  /** Why it was stopped, once it has been. */
  stopReason: () => StopReason | undefined;
  /** Stops this answer (the first reason given wins). */
  stop: (reason: StopReason) => void;
  /** Names the answer's message once its row exists (see `stopMessageAnswers`). */
  setMessageId: (id: string) => void;
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
    stopReason: () => (controller.signal.aborted ? (controller.signal.reason as StopReason) : undefined),
    stop: (reason) => controller.abort(reason),
    setMessageId: (id) => void (answer.messageId = id),
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
 * Stops the answers this process writes into any of `messageIds` (messages
 * being deleted) and resolves once each has saved its last state, or after
 * `timeoutMs`. Returns how many were stopped.
 */
export async function stopMessageAnswers({ messageIds, timeoutMs }: { messageIds: string[]; timeoutMs: number }): Promise<number> {
  const ids = new Set(messageIds);
  const hit = [...answers].filter((a) => a.messageId && ids.has(a.messageId));
  for (const a of hit) a.controller.abort("message_deleted" satisfies ServerStopReason);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(hit.map((a) => a.saved)), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
  return hit.length;
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
