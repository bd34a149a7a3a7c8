package clusterkv.chat;

import java.util.Map;
import java.util.Objects;

/**
 * One turn of a chat conversation, as passed to a chat template.
 *
 * @param role    the speaker: usually {@code "system"}, {@code "user"} or {@code "assistant"}
 *                (templates may accept others, e.g. {@code "tool"})
 * @param content the text of the turn; {@code null} is treated as the empty string
 * @param fields  further fields the template sees on the message, as HF passes them: an assistant turn's
 *                {@code tool_calls}, a tool result's {@code tool_call_id} and {@code name}; plain maps and lists
 */
public record ChatMessage(String role, String content, Map<String, Object> fields) {

    public ChatMessage {
        Objects.requireNonNull(role, "role");
        if (content == null) {
            content = "";
        }
        fields = fields == null || fields.isEmpty() ? Map.of() : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(fields));
    }

    public ChatMessage(String role, String content) {
        this(role, content, Map.of());
    }

    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }
}
