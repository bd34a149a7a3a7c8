package clusterkv.chat;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Hard-coded prompt formats used when a model's Jinja chat template is missing or unusable. The
 * family is guessed from marker strings in the (possibly broken) template text and from the EOS
 * text; a model with no recognisable markers gets {@link #PLAIN}, which uses no special tokens at
 * all. None of the formats writes the BOS text: the caller adds BOS as the model asks.
 */
enum BuiltinFormat {
    /** {@code <|im_start|>role\ncontent<|im_end|>\n} (Qwen, SmolLM, Hermes, ...). */
    CHATML("ChatML"),
    /** {@code <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>} (Llama 3). */
    LLAMA3("Llama 3"),
    /** {@code <start_of_turn>user\ncontent<end_of_turn>\n} (Gemma; system folded into the first user turn). */
    GEMMA("Gemma"),
    /** {@code [INST] content [/INST]answer</s>} (Mistral/Llama 2; system folded into the first user turn). */
    MISTRAL("Mistral [INST]"),
    /** {@code <|user|>\ncontent</s>\n} (Zephyr, TinyLlama). */
    ZEPHYR("Zephyr"),
    /** {@code Role: content} lines, ending with {@code Assistant:}; no special tokens. */
    PLAIN("plain 'Role: content'");

    final String displayName;

    BuiltinFormat(String displayName) {
        this.displayName = displayName;
    }

    static BuiltinFormat guess(String templateOrNull, String eosText) {
        String t = templateOrNull == null ? "" : templateOrNull;
        String eos = eosText == null ? "" : eosText;
        if (t.contains("<|im_start|>") || eos.equals("<|im_end|>")) {
            return CHATML;
        }
        if (t.contains("<|start_header_id|>") || eos.equals("<|eot_id|>")) {
            return LLAMA3;
        }
        if (t.contains("<start_of_turn>") || eos.equals("<end_of_turn>")) {
            return GEMMA;
        }
        if (t.contains("[INST]")) {
            return MISTRAL;
        }
        if (t.contains("<|user|>") && t.contains("<|assistant|>")) {
            return ZEPHYR;
        }
        return PLAIN;
    }

    String render(List<ChatMessage> messages, boolean addGenerationPrompt, String eosText) {
        String eos = eosText == null ? "" : eosText;
        StringBuilder sb = new StringBuilder();
        switch (this) {
            case CHATML -> {
                for (ChatMessage m : messages) {
                    sb.append("<|im_start|>").append(m.role()).append('\n').append(m.content())
                            .append("<|im_end|>\n");
                }
                if (addGenerationPrompt) {
                    sb.append("<|im_start|>assistant\n");
                }
            }
            case LLAMA3 -> {
                for (ChatMessage m : messages) {
                    sb.append("<|start_header_id|>").append(m.role()).append("<|end_header_id|>\n\n")
                            .append(m.content().strip()).append("<|eot_id|>");
                }
                if (addGenerationPrompt) {
                    sb.append("<|start_header_id|>assistant<|end_header_id|>\n\n");
                }
            }
            case GEMMA -> {
                for (ChatMessage m : foldSystem(messages, "\n\n")) {
                    String role = m.role().equals("assistant") ? "model" : m.role();
                    sb.append("<start_of_turn>").append(role).append('\n').append(m.content().strip())
                            .append("<end_of_turn>\n");
                }
                if (addGenerationPrompt) {
                    sb.append("<start_of_turn>model\n");
                }
            }
            case MISTRAL -> {
                for (ChatMessage m : foldSystem(messages, "\n\n")) {
                    if (m.role().equals("assistant")) {
                        sb.append(' ').append(m.content().strip()).append(eos);
                    } else {
                        sb.append("[INST] ").append(m.content().strip()).append(" [/INST]");
                    }
                }
            }
            case ZEPHYR -> {
                for (ChatMessage m : messages) {
                    sb.append("<|").append(m.role()).append("|>\n").append(m.content()).append(eos).append('\n');
                }
                if (addGenerationPrompt) {
                    sb.append("<|assistant|>\n");
                }
            }
            case PLAIN -> {
                for (ChatMessage m : messages) {
                    sb.append(capitalize(m.role())).append(": ").append(m.content().strip()).append('\n');
                }
                if (addGenerationPrompt) {
                    sb.append("Assistant:");
                }
            }
        }
        return sb.toString();
    }

    /** Merges a leading system message into the first user message (for formats without a system role). */
    static List<ChatMessage> foldSystem(List<ChatMessage> messages, String separator) {
        if (messages.isEmpty() || !messages.get(0).role().equals("system")) {
            return messages;
        }
        String system = messages.get(0).content();
        List<ChatMessage> out = new ArrayList<>(messages.subList(1, messages.size()));
        if (!out.isEmpty() && out.get(0).role().equals("user")) {
            out.set(0, new ChatMessage("user", system + separator + out.get(0).content()));
        } else {
            out.add(0, new ChatMessage("user", system));
        }
        return out;
    }

    private static String capitalize(String s) {
        return s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1);
    }
}
