// Starts loading the model when the server starts, so the first chat does
// not wait for the weights (the UI shows progress meanwhile).
export async function register() {
  if (process.env.NEXT_RUNTIME === "nodejs" && process.env.ENGINE_PRELOAD !== "false") {
    const { getEngine } = await import("@/lib/engine/get-engine");
    getEngine().catch(() => {
      /* reported by engineHealth() and the next request */
    });
  }
}
