package clusterkv.chat;

import java.util.Objects;

/**
 * One turn of a chat conversation, as passed to a chat template.
 *
 * @param role    the speaker: usually {@code "system"}, {@code "user"} or {@code "assistant"}
 *                (templates may accept others, e.g. {@code "tool"})
 * @param content the text of the turn; {@code null} is treated as the empty string
 */
public record ChatMessage(String role, String content) {

    public ChatMessage {
        Objects.requireNonNull(role, "role");
        if (content == null) {
            content = "";
        }
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
