import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { describe, expect, it } from "vitest";
import type { FamilyId } from "@/lib/engine/families";
import { renderPrompt } from "@/lib/engine/prompt";
import type { EngineMessage } from "@/lib/engine/types";
import { REPLICAS } from "@/lib/gguf/replicas";

/**
 * Each family's chat template, read from its replica GGUF, renders a
 * multi-image, multi-turn conversation in the family's own turn format,
 * with one `<__media__>` marker per image in order (libmtmd replaces each
 * with the family's image markers and embeddings). The engine renders once
 * and hands the same text to either backend.
 */
const conversation: EngineMessage[] = [
  { role: "system", text: "Be brief." },
  { role: "user", text: "What differs?", images: ["a.png", "b.png"] },
  { role: "assistant", text: "A circle." },
  { role: "user", text: "Which is red?" },
  { role: "assistant", text: "The first." },
  { role: "user", text: "And this one?", images: ["c.png"] },
];

const M = "<__media__>";
const expected: Record<FamilyId, string> = {
  "llava-1.5": "",
  "llava-1.6": `[INST] Be brief.\n\n${M}\n${M}\nWhat differs? [/INST] A circle.</s>[INST] Which is red? [/INST] The first.</s>[INST] ${M}\nAnd this one? [/INST]`,
  pixtral: `[INST]Be brief.\n\n${M}\n${M}\nWhat differs?[/INST]A circle.</s>[INST]Which is red?[/INST]The first.</s>[INST]${M}\nAnd this one?[/INST]`,
  gemma3:
    `<start_of_turn>user\nBe brief.\n\n${M}\n${M}\nWhat differs?<end_of_turn>\n<start_of_turn>model\nA circle.<end_of_turn>\n` +
    `<start_of_turn>user\nWhich is red?<end_of_turn>\n<start_of_turn>model\nThe first.<end_of_turn>\n` +
    `<start_of_turn>user\n${M}\nAnd this one?<end_of_turn>\n<start_of_turn>model\n`,
  smolvlm:
    `<|im_start|>System: Be brief.<end_of_utterance>\nUser: ${M}\n${M}\nWhat differs?<end_of_utterance>\nAssistant: A circle.<end_of_utterance>\n` +
    `User: Which is red?<end_of_utterance>\nAssistant: The first.<end_of_utterance>\nUser: ${M}\nAnd this one?<end_of_utterance>\nAssistant:`,
  "qwen2.5-vl":
    `<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n${M}\n${M}\nWhat differs?<|im_end|>\n<|im_start|>assistant\nA circle.<|im_end|>\n` +
    `<|im_start|>user\nWhich is red?<|im_end|>\n<|im_start|>assistant\nThe first.<|im_end|>\n<|im_start|>user\n${M}\nAnd this one?<|im_end|>\n<|im_start|>assistant\n`,
  "minicpm-v":
    `<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n${M}\n${M}\nWhat differs?<|im_end|>\n<|im_start|>assistant\nA circle.<|im_end|>\n` +
    `<|im_start|>user\nWhich is red?<|im_end|>\n<|im_start|>assistant\nThe first.<|im_end|>\n<|im_start|>user\n${M}\nAnd this one?<|im_end|>\n<|im_start|>assistant\n`,
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-family-templates-"));

describe.each(Object.keys(REPLICAS) as FamilyId[])("%s chat template", (family) => {
  it("renders two images, three turns and a system prompt in the family's format", async () => {
    const { llm } = REPLICAS[family]!(path.join(dir, family));
    const info = await readGgufFileInfo(llm, { readTensorInfo: false, logWarnings: false });
    const tok = (info.metadata as unknown as { tokenizer: { chat_template: string; ggml: { tokens: string[]; eos_token_id: number } } }).tokenizer;
    const { prompt, images } = renderPrompt(tok.chat_template, conversation, { eosToken: tok.ggml.tokens[tok.ggml.eos_token_id] });
    expect(prompt).toBe(expected[family]);
    expect(images).toEqual(["a.png", "b.png", "c.png"]);
  });
});
