const MANAGED = new Set(["pull", "push", "create", "copy", "delete", "blobs"]);

/**
 * Why an Ollama endpoint this server does not serve is refused: model
 * management (pull, push, create, copy, delete, and the blobs create
 * uploads) is a 403, since models here are installed by the server's
 * administrator; anything else is an unknown endpoint (404).
 */
export function ollamaRefusal(path: string[]): { status: number; error: string } {
  const action = path[0] ?? "";
  if (MANAGED.has(action)) {
    return {
      status: 403,
      error: `${action} is not available here: this server runs the models its administrator installed (Settings → Models in the app), and they cannot be ${action === "blobs" ? "uploaded" : action === "copy" ? "copied" : `${action.replace(/e$/, "")}ed`} through the Ollama API.`,
    };
  }
  return { status: 404, error: `404 page not found: /api/${path.join("/")} is not part of this server's Ollama API.` };
}
