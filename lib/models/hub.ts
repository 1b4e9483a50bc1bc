import { listFiles } from "@huggingface/hub";
import type { HubFile } from "./choose-files";
import { PullError } from "./pull-error";

/** Where models come from and who asks: `HF_ENDPOINT` (a mirror) and `HF_TOKEN` (gated repositories). */
export interface HubAccess {
  /** Base URL of the hub. Default `HF_ENDPOINT`, else https://huggingface.co. */
  endpoint: string;
  /** Access token sent as `Authorization: Bearer`, or null. Default `HF_TOKEN`. */
  token: string | null;
}

/** The hub as the environment names it. */
export function hubFromEnv(env: NodeJS.ProcessEnv = process.env): HubAccess {
  return { endpoint: (env.HF_ENDPOINT || "https://huggingface.co").replace(/\/+$/, ""), token: env.HF_TOKEN || null };
}

/** Request headers for the hub: the token when there is one. */
export const hubHeaders = (hub: HubAccess): Record<string, string> => (hub.token ? { Authorization: `Bearer ${hub.token}` } : {});

/** `https://hub/owner/repo/resolve/main/sub/file.gguf` */
export const resolveUrl = (hub: HubAccess, repo: string, file: string) =>
  `${hub.endpoint}/${repo}/resolve/main/${file.split("/").map(encodeURIComponent).join("/")}`;

/** A plain-words PullError for an HTTP status from the hub about `repo`. */
export function hubStatusError(status: number, repo: string, hub: HubAccess): PullError {
  if (status === 401 || status === 403) {
    return new PullError(
      "gated",
      hub.token
        ? `${hub.endpoint} refused HF_TOKEN for ${repo} (HTTP ${status}): the token may have expired, lack read access, or the repository's licence may not be accepted yet on its page.`
        : `${repo} is gated or private (HTTP ${status} from ${hub.endpoint}): accept its licence on the repository's page, then set HF_TOKEN to an access token with read access and pull again.`,
    );
  }
  if (status === 404) return new PullError("not_found", `${repo} was not found on ${hub.endpoint} (HTTP 404). Check the owner and repository name.`);
  return new PullError("download", `${hub.endpoint} answered HTTP ${status} for ${repo}. Try again later.`);
}

/**
 * Every file of the repository's main branch, with the SHA-256 the hub
 * records for LFS files (`/api/models/<repo>/tree/main?recursive=true`,
 * paginated by Link headers: @huggingface/hub's listFiles). The token goes
 * in a header of our own so tokens of mirrors that do not start with `hf_`
 * work too.
 */
export async function listRepoFiles({ repo, hub, signal }: { repo: string; hub: HubAccess; signal?: AbortSignal }): Promise<HubFile[]> {
  const files: HubFile[] = [];
  try {
    const authFetch: typeof fetch = (url, init) => fetch(url, { ...init, signal, headers: { ...(init?.headers as Record<string, string>), ...hubHeaders(hub) } });
    for await (const entry of listFiles({ repo: { type: "model", name: repo }, recursive: true, hubUrl: hub.endpoint, fetch: authFetch })) {
      if (entry.type === "file") files.push({ path: entry.path, size: entry.lfs?.size ?? entry.size, sha256: entry.lfs?.oid ?? null });
    }
  } catch (err) {
    if (signal?.aborted) throw new PullError("cancelled", "Cancelled.");
    const status = (err as { statusCode?: unknown }).statusCode;
    if (typeof status === "number") throw hubStatusError(status, repo, hub);
    throw new PullError("download", `Cannot reach ${hub.endpoint} (${(err as Error).cause ? String((err as Error & { cause: Error }).cause.message ?? (err as Error).cause) : (err as Error).message}). Set HF_ENDPOINT to use a mirror.`);
  }
  return files;
}
