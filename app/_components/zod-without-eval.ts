import { z } from "zod";

// Zod (used by the AI SDK to check the chat stream) probes once whether it
// may compile validators with `Function("")`. The pages' CSP has no
// 'unsafe-eval', so the probe is refused and the browser reports a CSP
// violation; jitless mode skips the probe and validates without compiling.
z.config({ jitless: true });
