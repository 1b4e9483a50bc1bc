import { describe, expect, it } from "vitest";
import { nativeLogLine } from "@/lib/logging/native-log-filter";

// Lines seen from llama.node 1.7.15 during an image turn (prompt text included).
describe("nativeLogLine", () => {
  it("drops info output, which quotes the prompt", () => {
    for (const line of [
      "[INFO] processMedia:442 [DEBUG] Processing message with role=user, content=You are terse.",
      "USER: <__media__>",
      "What color is the shape? secret-phrase",
      "ASSISTANT: ",
      "add_text: You are terse. secret-phrase",
      "add_text: error: this is my own text",
      "image slice encoded in 6 ms",
      "common_perf_print: prompt eval time =       8.48 ms /    19 tokens",
    ]) {
      expect(nativeLogLine(line)).toBeNull();
    }
  });

  it("keeps native warnings and errors, shortened", () => {
    expect(nativeLogLine("[WARNING] build_batch:771 Slot 0: Cached history (0 tokens) does not match memory (19 positions), discarding")).toMatch(
      /^\[native\] \[WARNING\] build_batch:771 /,
    );
    expect(nativeLogLine("mtmd_tokenize: error: number of media markers in text (2) exceeds number of bitmaps (1)")).toBe(
      "[native] mtmd_tokenize: error: number of media markers in text (2) exceeds number of bitmaps (1)",
    );
    expect(nativeLogLine("terminate called after throwing an instance of 'std::runtime_error'")).not.toBeNull();
    expect(nativeLogLine("FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory")).not.toBeNull();
    expect(nativeLogLine(`[ERROR] f:1 ${"x".repeat(1000)}`)!.length).toBeLessThan(330);
  });
});
