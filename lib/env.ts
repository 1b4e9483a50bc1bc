import "server-only";
import { loadEnv, type Env } from "./env-schema";

/**
 * The validated configuration, read once per process. A wrong value throws
 * at first use with one line naming the variable; `npm start` validates the
 * same schema before the server starts so mistakes surface at boot.
 */
export const env: Env = (globalThis as { __appEnv?: Env }).__appEnv ??= loadEnv();
