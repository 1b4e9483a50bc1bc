// llama.cpp prints every prompt to fds 1 and 2 from C. The evaluations run themselves again in a
// child whose own output goes to fds 3 and 4 (scripts/app-output.mjs, as the app does), and keep
// only native warnings and errors from 1 and 2. In the parent this never returns.
import { spawn } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { nativeLogLine } from "../../lib/logging/native-log-filter";

export async function quietNativeOutput(): Promise<void> {
  if (process.env.APP_OUTPUT_FDS) return;
  const child = spawn(
    process.execPath,
    [...process.execArgv, "--import", path.join(import.meta.dirname, "..", "..", "scripts", "app-output.mjs"), ...process.argv.slice(1)],
    { env: { ...process.env, APP_OUTPUT_FDS: "3,4" }, stdio: ["inherit", "pipe", "pipe", 1, 2] },
  );
  for (const stream of [child.stdout!, child.stderr!]) {
    readline.createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => {
      const kept = nativeLogLine(line);
      if (kept) process.stderr.write(`${kept}\n`);
    });
  }
  child.on("exit", (code) => process.exit(code ?? 1));
  await new Promise(() => {});
}
