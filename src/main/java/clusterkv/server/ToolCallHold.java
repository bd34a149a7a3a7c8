package clusterkv.server;

import clusterkv.chat.ToolCallFormat;

/**
 * Streaming with tools: text that may be the start of a tool call is held back, so that a call is sent as a call
 * (a tool_calls delta at the end), never as content; text that cannot be one is sent at once. Hermes calls may follow
 * content, so only from a possible {@code <tool_call>} on is held; Llama and Mistral calls are the whole reply, so a
 * reply is held while it starts like one.
 */
final class ToolCallHold {

    private static final String HERMES_TAG = "<tool_call>";

    private final ToolCallFormat format;
    private final StringBuilder text = new StringBuilder();
    private int sent;

    ToolCallHold(ToolCallFormat format) {
        this.format = format;
    }

    /** Adds a piece of the reply; returns what may be sent as content now (possibly empty). */
    String accept(String piece) {
        text.append(piece);
        int safe = safeLength();
        String out = text.substring(sent, Math.max(sent, safe));
        sent = Math.max(sent, safe);
        return out;
    }

    /** The content not sent yet, once the reply is whole and holds no call. */
    String rest() {
        return text.substring(sent);
    }

    /** Whether any content was sent. */
    boolean sentContent() {
        return sent > 0;
    }

    private int safeLength() {
        if (format == ToolCallFormat.HERMES) {
            int tag = text.indexOf(HERMES_TAG, Math.max(0, sent - HERMES_TAG.length()));
            if (tag >= 0) return tag;
            for (int keep = Math.min(HERMES_TAG.length() - 1, text.length()); keep > 0; keep--) {
                if (HERMES_TAG.startsWith(text.substring(text.length() - keep))) return text.length() - keep;
            }
            return text.length();
        }
        if (sent > 0) return text.length(); // already known not to be a call
        String start = text.toString().stripLeading();
        if (start.isEmpty()) return 0;
        String opening = format == ToolCallFormat.MISTRAL ? "[" : "{";
        boolean mayBeCall = start.startsWith(opening) || start.startsWith("[TOOL_CALLS]") || "[TOOL_CALLS]".startsWith(start);
        return mayBeCall ? 0 : text.length();
    }
}
