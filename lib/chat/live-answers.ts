import "server-only";
import type { UIMessageChunk } from "ai";

/**
 * The answers this process is writing, as UI message streams anyone may
 * join: every chunk written so far is kept, so a reader who arrives late (a
 * reloaded page, a second tab) gets the answer from its start and then
 * follows it live. The answer is written by the server whoever reads it: a
 * reader leaving only ends its own copy (see stream-chat.ts).
 *
 * This holds the live stream of the answers of this instance only; another
 * instance serving a reload follows the answer's row in the database
 * instead (tail-answer.ts), which the writer saves every FLUSH_MS.
 */
export interface LiveAnswer {
  conversationId: string;
  userId: string;
  messageId: string;
  /** Adds a chunk for every reader, present and future. */
  write: (chunk: UIMessageChunk) => void;
  /** Ends every reader's stream; the answer leaves the registry. */
  end: () => void;
  /** A stream of everything written so far, then what follows, until `end`. */
  read: () => ReadableStream<UIMessageChunk>;
  /** Stops the writing (Stop pressed in any tab). */
  stop: () => void;
}

// On globalThis, like the answers in flight: one registry per process, whatever module copy asks.
const holder = globalThis as { __liveAnswers?: Map<string, LiveAnswer> };
const live = (holder.__liveAnswers ??= new Map<string, LiveAnswer>());

/**
 * Registers the answer being written for a conversation (at most one per
 * conversation: a turn is refused while another is streaming).
 */
export function startLiveAnswer({
  conversationId,
  userId,
  messageId,
  stop,
}: {
  conversationId: string;
  userId: string;
  messageId: string;
  stop: () => void;
}): LiveAnswer {
  const chunks: UIMessageChunk[] = [];
  const readers = new Set<ReadableStreamDefaultController<UIMessageChunk>>();
  let ended = false;
  const answer: LiveAnswer = {
    conversationId,
    userId,
    messageId,
    stop,
    write(chunk) {
      if (ended) return;
      // A data part sent again under its id replaces the earlier one on every page (useChat merges
      // them), so a late reader needs only the latest: a generation's progress stays one chunk, not
      // one preview per step.
      const at = chunk.type.startsWith("data-") && "id" in chunk && chunk.id ? chunks.findIndex((c) => c.type === chunk.type && "id" in c && c.id === chunk.id) : -1;
      if (at >= 0) chunks[at] = chunk;
      else chunks.push(chunk);
      for (const r of readers) r.enqueue(chunk);
    },
    end() {
      if (ended) return;
      ended = true;
      for (const r of readers) r.close();
      readers.clear();
      if (live.get(conversationId) === answer) live.delete(conversationId);
    },
    read() {
      let self: ReadableStreamDefaultController<UIMessageChunk>;
      return new ReadableStream<UIMessageChunk>({
        start(controller) {
          self = controller;
          for (const c of chunks) controller.enqueue(c);
          if (ended) controller.close();
          else readers.add(controller);
        },
        cancel() {
          // This reader went away (reload, closed tab): the answer goes on for the others.
          readers.delete(self);
        },
      });
    },
  };
  live.set(conversationId, answer);
  return answer;
}

/** The answer being written here for one of the user's conversations (someone else's id finds nothing). */
export function liveAnswer({ conversationId, userId }: { conversationId: string; userId: string }): LiveAnswer | undefined {
  const a = live.get(conversationId);
  return a && a.userId === userId ? a : undefined;
}
