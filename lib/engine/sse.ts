/**
 * Reads a server-sent-events body as the text of its `data:` lines, one per
 * line, `[DONE]` included (OpenAI's end mark), until the body ends; comment
 * lines (`: ping`) and other fields are skipped. Leaving the loop cancels
 * the body.
 */
export async function* readSseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data) yield data;
      }
    }
  } finally {
    // Cancelling the body closes the connection, which is how an HTTP
    // client tells llama-server (and most OpenAI-compatible servers) to stop.
    await reader.cancel().catch(() => {});
  }
}

/**
 * Reads a server-sent-events body as parsed JSON objects, one per `data:`
 * line. Stops at `data: [DONE]` (OpenAI) or the end of the body.
 */
export async function* readSseJson<T>(body: ReadableStream<Uint8Array>): AsyncGenerator<T> {
  for await (const data of readSseData(body)) {
    if (data === "[DONE]") return;
    yield JSON.parse(data) as T;
  }
}

/** Error text from a non-2xx JSON or plain response, shortened for a user-facing message. */
export async function responseError(res: Response): Promise<string> {
  const body = await res.text().catch(() => "");
  try {
    const parsed = JSON.parse(body) as { error?: { message?: string } | string };
    const msg = typeof parsed.error === "string" ? parsed.error : parsed.error?.message;
    if (msg) return `${res.status}: ${msg}`.slice(0, 300);
  } catch {
    /* not JSON */
  }
  return `${res.status}: ${body || res.statusText}`.slice(0, 300);
}
