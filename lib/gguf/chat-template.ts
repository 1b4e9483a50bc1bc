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

/**
 * ChatML, as Qwen2-VL / Qwen2.5-VL and MiniCPM-V 2.6 (a Qwen2 language
 * model) format turns: written here for the family replicas, with Qwen's
 * default system prompt when the conversation has none. Content may be a
 * string (with `<__media__>` markers) or a list of text parts.
 */
export const CHATML_TEMPLATE =
  "{% for message in messages %}" +
  "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}" +
  "<|im_start|>{{ message['role'] }}\n" +
  "{% if message['content'] is string %}{{ message['content'] }}" +
  "{% else %}{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}" +
  "{% endif %}" +
  "<|im_end|>\n" +
  "{% endfor %}" +
  "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
