package clusterkv.cli;

/**
 * Text from files and clients made safe for a terminal. Why: metadata strings, tensor names and token pieces come
 * from whoever made the file; printed raw, they can carry escape sequences that rewrite the user's screen, or
 * newlines that break the one-line error contract.
 */
public final class Printable {

    private Printable() {}

    /** The text with every control character (C0, DEL, C1) and lone surrogate written as {@code \xNN} / {@code \\uNNNN}. */
    public static String escape(String s) {
        if (s == null) return "null";
        StringBuilder out = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            String replacement = replacement(s, i, c);
            if (replacement == null) {
                if (out != null) out.append(c);
                continue;
            }
            if (out == null) out = new StringBuilder(s.length() + 16).append(s, 0, i);
            out.append(replacement);
        }
        return out == null ? s : out.toString();
    }

    private static String replacement(String s, int i, char c) {
        if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return String.format("\\x%02x", (int) c);
        if (Character.isHighSurrogate(c) && !(i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1)))) {
            return String.format("\\u%04x", (int) c);
        }
        if (Character.isLowSurrogate(c) && !(i > 0 && Character.isHighSurrogate(s.charAt(i - 1)))) {
            return String.format("\\u%04x", (int) c);
        }
        return null;
    }
}
