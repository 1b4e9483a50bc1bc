import "server-only";
import { currentGenerator } from "@/lib/imagegen/service";
import type { GeneratorInfo } from "@/lib/imagegen/types";

/** What the composer needs to offer "Create image": the generator, or why there is none. */
export type ImageGeneratorStatus = { generator: GeneratorInfo; reason?: undefined } | { generator: null; reason: string };

/** The generator a generation turn would use now (the local model, or IMAGE_ENGINE_URL's server). */
export async function imageGeneratorStatus(): Promise<ImageGeneratorStatus> {
  try {
    const generator = await currentGenerator();
    if (generator) return { generator: generator.info };
    return { generator: null, reason: "No image generator is installed: the local model's files are missing and IMAGE_ENGINE_URL is not set." };
  } catch (err) {
    return { generator: null, reason: `The image generator is not available: ${(err as Error).message}` };
  }
}
