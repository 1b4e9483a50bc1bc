/**
 * The chat template written into the project's own GGUF files (jinja, as
 * llama.cpp reads `tokenizer.chat_template`). LLaVA-1.5 style turns; the
 * generation prompt ends with a space so a character-level model starts
 * directly with the answer. Images appear as `<__media__>` markers inside
 * the user's content, each on its own line before the question.
 */
export const LLAVA_CHAT_TEMPLATE =
  "{%- for message in messages -%}" +
  "{%- if message['role'] == 'system' -%}{{ message['content'] }}{{ '\\n' }}" +
  "{%- elif message['role'] == 'user' -%}USER: {{ message['content'] }}{{ '\\n' }}" +
  "{%- elif message['role'] == 'assistant' -%}ASSISTANT: {{ message['content'] }}</s>{{ '\\n' }}" +
  "{%- endif -%}" +
  "{%- endfor -%}" +
  "{%- if add_generation_prompt -%}{{ 'ASSISTANT: ' }}{%- endif -%}";
