import type { ImageGenerator } from "./types";

/**
 * The project's own shape-world generator (onnxruntime-node), or null when its files are not
 * there. Being written: until the model lands this finds none, and the app says so.
 */
export async function loadLocalGenerator(): Promise<ImageGenerator | null> {
  return null;
}
