package clusterkv.tokenizer;

/**
 * llama.cpp's way of running Unicode-category regexes with a byte-oriented regex engine
 * (unicode.cpp, {@code unicode_regex_split}): every non-ASCII code point of the text becomes one
 * character that stands for its category, and each {@code \p{..}} of the regex becomes a class
 * of that character plus the ASCII members of the category. Matching this way, rather than with
 * Java's own {@code \p{..}}, keeps llama.cpp's results where the two differ.
 */
final class CollapsedRegex {

    // Stand-ins for non-ASCII code points, from the private use area so they cannot clash with
    // ASCII, the only other characters of a collapsed text.
    private static final char NUMBER = '\uE0D1';
    private static final char LETTER = '\uE0D2';
    private static final char PUNCTUATION = '\uE0D3';
    private static final char MARK = '\uE0D4';
    private static final char SYMBOL = '\uE0D5';
    private static final char OTHER = '\uE0D0';
    private static final char WHITESPACE = '\u000B';

    private CollapsedRegex() {}

    /** The Unicode White_Space code points, the set llama.cpp's unicode tables use. */
    static boolean isWhitespace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F
                || cp == 0x205F || cp == 0x3000;
    }

    /** The one character a code point becomes in the collapsed text. */
    static char collapse(int cp) {
        if (cp < 0x80) return (char) cp;
        // std::regex's \s knows only ASCII whitespace, so llama.cpp maps the others to \v.
        if (isWhitespace(cp)) return WHITESPACE;
        return switch (Character.getType(cp)) {
            case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER,
                 Character.MODIFIER_LETTER, Character.OTHER_LETTER -> LETTER;
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> NUMBER;
            case Character.NON_SPACING_MARK, Character.ENCLOSING_MARK, Character.COMBINING_SPACING_MARK -> MARK;
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                 Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION,
                 Character.FINAL_QUOTE_PUNCTUATION, Character.OTHER_PUNCTUATION -> PUNCTUATION;
            case Character.MATH_SYMBOL, Character.CURRENCY_SYMBOL, Character.MODIFIER_SYMBOL,
                 Character.OTHER_SYMBOL -> SYMBOL;
            default -> OTHER;
        };
    }

    /** Whether llama.cpp would run this regex on the collapsed text. */
    static boolean usesCategories(String regex) {
        for (String name : new String[] {"N", "L", "P", "M", "S", "Lu", "Ll", "Lt", "Lm", "Lo"}) {
            if (regex.contains("\\p{" + name + "}")) return true;
        }
        return false;
    }

    /** The members of a category inside a character class: its stand-in and its ASCII members. */
    private static String classBody(String category) {
        return switch (category) {
            case "N" -> NUMBER + "0-9";
            // llama.cpp treats the letter subcategories as plain letters.
            case "L", "Lu", "Ll", "Lt", "Lm", "Lo" -> LETTER + "A-Za-z";
            case "P" -> PUNCTUATION + "!-#%-*,-/:;?@\\[-\\]_\\{\\}";
            case "M" -> String.valueOf(MARK);
            // llama.cpp's ASCII symbol list lacks '~'.
            case "S" -> SYMBOL + "\\$\\+<->\\^`\\|";
            default -> throw new IllegalArgumentException("unsupported category \\p{" + category + "} in a pre-tokenizer regex");
        };
    }

    /**
     * Rewrites a regex in llama.cpp's (ECMAScript) dialect for java.util.regex: categories to
     * collapsed classes when {@code collapsed}, '$' to end of input, and '[' and '&' inside a
     * class to literals, as ECMAScript reads them.
     */
    static String toJava(String regex, boolean collapsed) {
        StringBuilder out = new StringBuilder(regex.length() + 32);
        boolean inClass = false;
        for (int i = 0; i < regex.length(); i++) {
            char c = regex.charAt(i);
            if (c == '\\') {
                if (collapsed && regex.startsWith("\\p{", i)) {
                    int close = regex.indexOf('}', i);
                    String body = classBody(regex.substring(i + 3, close));
                    out.append(inClass ? body : "[" + body + "]");
                    i = close;
                } else {
                    out.append(c).append(regex.charAt(++i));
                }
            } else if (c == '[' && !inClass) {
                inClass = true;
                out.append(c);
            } else if (c == ']' && inClass) {
                inClass = false;
                out.append(c);
            } else if ((c == '[' || c == '&') && inClass) {
                out.append('\\').append(c);
            } else if (c == '$' && !inClass) {
                out.append("\\z");
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
