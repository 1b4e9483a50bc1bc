import path from "node:path";
import {
  AutoProcessor,
  AutoTokenizer,
  CLIPTextModelWithProjection,
  CLIPVisionModelWithProjection,
  env as transformersEnv,
  RawImage,
  type PreTrainedTokenizer,
  type Processor,
} from "@huggingface/transformers";
import sharp from "sharp";
import { normalize } from "./vector-search";

/**
 * The CLIP encoders, loaded once per process from CLIP_MODEL_DIR (a local
 * transformers.js folder: config.json, tokenizer files,
 * preprocessor_config.json, onnx/{text,vision}_model.onnx). Nothing is ever
 * downloaded.
 */
export interface ClipModel {
  /** The model folder's name, stored with each embedding so a change of model re-indexes. */
  id: string;
  /** Width of the joint embedding space. */
  dim: number;
  /** The trained temperature: logits = logitScale × cosine. */
  logitScale: number;
  /** L2-normalised embeddings of these texts, one per text. */
  embedTexts(texts: string[]): Promise<Float32Array[]>;
  /** The L2-normalised embedding of one image (any format sharp reads). */
  embedImage(bytes: Uint8Array): Promise<Float32Array>;
}

/** Loads the CLIP encoders from a local folder (the app keeps one per process: `getClipModel`). */
export async function loadClipModel(dir: string): Promise<ClipModel> {
  transformersEnv.allowRemoteModels = false;
  transformersEnv.localModelPath = path.dirname(dir) + path.sep;
  const id = path.basename(dir);
  // One thread each: indexing runs beside the chat model and must not take its cores.
  const options = { dtype: "fp32", session_options: { intraOpNumThreads: 1, interOpNumThreads: 1 } } as const;
  const [tokenizer, processor, textModel, visionModel] = await Promise.all([
    AutoTokenizer.from_pretrained(id) as Promise<PreTrainedTokenizer>,
    AutoProcessor.from_pretrained(id) as Promise<Processor>,
    CLIPTextModelWithProjection.from_pretrained(id, options),
    CLIPVisionModelWithProjection.from_pretrained(id, options),
  ]);
  const config = textModel.config as unknown as { projection_dim?: number; logit_scale?: number };
  // Our trained folders write the scale into config.json; OpenAI's CLIP checkpoints keep it in
  // the weights, where training ends at the clamp, 100.
  const logitScale = config.logit_scale ?? 100;
  return {
    id,
    dim: config.projection_dim ?? 512,
    logitScale,
    async embedTexts(texts) {
      if (!texts.length) return [];
      const { text_embeds } = await textModel(tokenizer(texts, { padding: true, truncation: true }));
      const data = text_embeds.data as Float32Array;
      const dim = data.length / texts.length;
      return texts.map((_, i) => normalize(data.slice(i * dim, (i + 1) * dim)));
    },
    async embedImage(bytes) {
      const { data, info } = await sharp(bytes, { pages: 1 }).flatten({ background: "#ffffff" }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const image = new RawImage(new Uint8ClampedArray(data.buffer, data.byteOffset, data.byteLength), info.width, info.height, 3);
      const { image_embeds } = await visionModel(await processor(image));
      return normalize(Float32Array.from(image_embeds.data as Float32Array));
    },
  };
}
