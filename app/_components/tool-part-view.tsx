import type { ToolCallData, ToolResultData } from "@/lib/chat/ui-message";

/** A function call or result from /v1 with tools: one folded line, the whole JSON or text when opened. */
export function ToolPartView({ part }: { part: { type: "data-tool-call"; data: ToolCallData } | { type: "data-tool-result"; data: ToolResultData } }) {
  if (part.type === "data-tool-call") {
    const { name, arguments: args } = part.data;
    return (
      <details className="tool-part">
        <summary>
          Tool call: <code>{`${name}(${args.length > 80 ? `${args.slice(0, 77)}…` : args})`}</code>
        </summary>
        <pre>{pretty(args)}</pre>
      </details>
    );
  }
  const { name, text } = part.data;
  return (
    <details className="tool-part">
      <summary>Tool result{name ? `: ${name}` : ""}</summary>
      <pre>{pretty(text)}</pre>
    </details>
  );
}

/** JSON indented for reading; anything else as it is. */
function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
