import { PullError } from "./pull-error";

/** A model named the way `llama-server -hf` takes it: `<owner>/<repo>[:<quant>]`. */
export interface ModelName {
  /** `owner/repo` on the hub. */
  repo: string;
  /** The quantization asked for (`Q4_K_M`), or null for the default choice. */
  quant: string | null;
}

const PART = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;

/** Parses `owner/repo[:quant]`; throws PullError `bad_name` with the expected shape. */
export function parseModelName(text: string): ModelName {
  const trimmed = text.trim().replace(/^(hf:|hf\.co\/|https:\/\/huggingface\.co\/)/, "");
  const [repo = "", quant, ...rest] = trimmed.split(":");
  const [owner = "", name = "", ...more] = repo.split("/");
  if (rest.length || more.length || !PART.test(owner) || !PART.test(name) || name.includes("..") || (quant !== undefined && !/^[A-Za-z0-9_.-]{1,32}$/.test(quant))) {
    throw new PullError("bad_name", `"${text}" is not a model name: expected <owner>/<repo>[:<quant>], e.g. ggml-org/Qwen2.5-VL-3B-Instruct-GGUF:Q4_K_M.`);
  }
  return { repo: `${owner}/${name}`, quant: quant ? quant.toUpperCase() : null };
}
