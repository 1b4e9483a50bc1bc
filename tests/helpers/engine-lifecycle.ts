// Loads the tiny pair on every backend, generates once each, disposes, and
// then simply returns: if any native handle (threads, log hooks, timers,
// a child process) survived dispose(), this process would not exit and the
// test times out. llama-server's pid must be gone too.
import { drain, loadEngine, tinyRandomModel } from "./engine";

const { model } = await tinyRandomModel();
for (const backend of ["llama-node", "node-llama-cpp", "llama-server"] as const) {
  const engine = await loadEngine(model, backend);
  await drain(engine, { messages: [{ role: "user", text: "Hi" }], maxTokens: 4, sampling: { temperature: 0 } });
  const pid = engine.pid;
  await engine.dispose();
  if (pid) {
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (alive) throw new Error(`llama-server (pid ${pid}) survived dispose()`);
  }
}
console.log("lifecycle ok");
