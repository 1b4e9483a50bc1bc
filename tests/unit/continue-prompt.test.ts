import { describe, expect, it } from "vitest";
import { FALLBACK_CHAT_TEMPLATE, renderPrompt } from "@/lib/engine/prompt";
import type { EngineMessage } from "@/lib/engine/types";

// Continue (issue 24): a last assistant message is an answer to carry on. It
// is rendered open, without its end-of-turn: the prompt is the one the answer
// was first written after, followed by what was written, so the branch's
// cached state (prompt + generated tokens) covers it.

const CHATML = `{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}`;
const history: EngineMessage[] = [
  { role: "system", text: "Be brief." },
  { role: "user", text: "Describe the image.", images: ["a.png"] },
];

describe("renderPrompt with a last assistant message (Continue)", () => {
  for (const [name, template] of [
    ["LLaVA fallback", FALLBACK_CHAT_TEMPLATE],
    ["ChatML", CHATML],
  ] as const) {
    it(`${name}: the first answer's prompt followed by the answer so far, without an end of turn`, () => {
      const first = renderPrompt(template, history);
      const open = renderPrompt(template, [...history, { role: "assistant", text: " A red circle and" }]);
      expect(open.prompt).toBe(`${first.prompt} A red circle and`);
      expect(open.images).toEqual(["a.png"]);
      expect(open.prompt).not.toMatch(/<\/s>$|<\|im_end\|>\n?$/);
    });
  }

  it("an assistant message before the last question is a closed turn as before", () => {
    const closed = renderPrompt(CHATML, [...history, { role: "assistant", text: "A circle." }, { role: "user", text: "Which colour?" }]);
    expect(closed.prompt).toContain("<|im_start|>assistant\nA circle.<|im_end|>\n<|im_start|>user\nWhich colour?<|im_end|>\n<|im_start|>assistant\n");
  });
});
