import { Template } from "@huggingface/jinja";
import { LLAVA_CHAT_TEMPLATE } from "@/lib/gguf/chat-template";
import { IMAGE_MARKER, type EngineMessage } from "./types";

/**
 * Chat formatting, done once here for every backend so both bindings see
 * byte-identical prompts: the GGUF's own jinja `tokenizer.chat_template`,
 * or — for a model without one — the LLaVA-1.5 style template the project's
 * models use (`USER: …\nASSISTANT: …`).
 *
 * Images are placed before the text of their message, one marker per line,
 * always in that order (a model trained on one layout is weaker on the other).
 *
 * A last message from the assistant is an answer to carry on (Continue): it
 * is left open, without its end-of-turn, as the text after the generation
 * prompt. The prompt is then exactly the one the answer was first written
 * after, followed by what was written, so the cached state of that answer
 * covers it and the model writes on from its last token.
 */
export const FALLBACK_CHAT_TEMPLATE = LLAVA_CHAT_TEMPLATE;

const compiled = new Map<string, Template>();

export interface RenderedPrompt {
  prompt: string;
  /** Image paths in the order their markers appear in the prompt. */
  images: string[];
}

export function renderPrompt(
  template: string | undefined,
  messages: EngineMessage[],
  { bosToken = "", eosToken = "</s>" }: { bosToken?: string; eosToken?: string } = {},
): RenderedPrompt {
  const source = template || FALLBACK_CHAT_TEMPLATE;
  let tmpl = compiled.get(source);
  if (!tmpl) {
    tmpl = new Template(source);
    compiled.set(source, tmpl);
  }
  const open = messages.at(-1)?.role === "assistant" ? messages.at(-1)! : undefined;
  if (open) messages = messages.slice(0, -1);
  const images: string[] = [];
  const chat = messages.map((m) => {
    const markers = (m.images ?? []).map((img) => {
      images.push(img);
      return IMAGE_MARKER;
    });
    const content = [...markers, ...(m.text ? [m.text] : [])].join("\n");
    return { role: m.role, content };
  });
  const prompt = tmpl.render({
    messages: chat,
    add_generation_prompt: true,
    bos_token: bosToken,
    eos_token: eosToken,
  });
  return { prompt: open ? prompt + open.text : prompt, images };
}
