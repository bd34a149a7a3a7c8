package clusterkv.chat;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Rewrites a Jinja2 template (as written for Python's jinja2, the engine HF transformers uses) into
 * an equivalent template for jinjava.
 *
 * <p>The differences it papers over:
 * <ul>
 *   <li><b>Whitespace.</b> HF renders with {@code trim_blocks=True, lstrip_blocks=True} and the
 *       default {@code keep_trailing_newline=False}. jinjava's own lstrip_blocks differs from
 *       Jinja's (it strips spaces before any tag, not only at the start of a line) and it ignores
 *       {@code -} on expressions and comments by default. So all whitespace control is applied
 *       here, lexically, exactly the way Jinja's lexer does it: {@code {%-}/{@code -%}} strip the
 *       neighbouring text, lstrip_blocks removes the indentation before a block or comment tag that
 *       starts a line, trim_blocks removes the first newline after a block or comment tag, and a
 *       {@code +} disables those. The output carries no whitespace markers and jinjava runs with
 *       both options off, so it emits the text as given.</li>
 *   <li><b>Comments</b> are dropped (after their whitespace effects are applied);
 *       HF's {@code {% generation %}}/{@code {% endgeneration %}} markers are dropped too.</li>
 *   <li><b>Keyword arguments</b>: jinjava parses {@code name=value} inside a call as an operator at
 *       the precedence of {@code +}, so {@code namespace(n=messages|length - 1)} becomes
 *       {@code (n=messages|length) - 1}. The value of every keyword argument is parenthesised.</li>
 *   <li><b>Extended slices</b> such as {@code messages[::-1]} (not parsed by jinjava) become a call
 *       to the {@code py_slice} filter.</li>
 *   <li>{@code True/False/None} become {@code true/false/none}; a {@code }}} that closes two nested
 *       dict literals is split so jinjava's scanner does not take it for the end of the tag.</li>
 * </ul>
 */
final class JinjaSource {

    private JinjaSource() {}

    /** Raised for templates that cannot be lexed (unclosed tag or comment). */
    static final class SyntaxError extends Exception {
        SyntaxError(String message) {
            super(message);
        }
    }

    private enum Kind { TEXT, VAR, BLOCK, COMMENT, RAW }

    private static final class Seg {
        final Kind kind;
        String text;          // TEXT: the text; VAR/BLOCK: inner expression (markers removed); RAW: content
        char left;            // '-', '+' or 0
        char right;           // '-', '+' or 0
        char rawEndLeft;      // RAW only: marker at the start of {% endraw %}
        char rawEndRight;     // RAW only: marker at the end of {% endraw %}
        boolean lineStart;    // TEXT only: Jinja's "line_starting" when this text begins

        Seg(Kind kind, String text) {
            this.kind = kind;
            this.text = text;
        }
    }

    private static final Pattern ENDRAW =
            Pattern.compile("\\{%([-+]?)\\s*endraw\\s*([-+]?)%\\}");

    /** Converts a Jinja2 template, rendered HF-style, into a jinjava template. */
    static String toJinjava(String source) throws SyntaxError {
        String src = source.replace("\r\n", "\n").replace('\r', '\n');
        if (src.endsWith("\n")) {
            src = src.substring(0, src.length() - 1); // keep_trailing_newline=False
        }
        List<Seg> segs = lex(src);
        applyWhitespace(segs);
        StringBuilder out = new StringBuilder(src.length() + 64);
        for (Seg s : segs) {
            switch (s.kind) {
                case TEXT -> out.append(s.text);
                case VAR -> out.append("{{ ").append(rewriteExpression(s.text)).append(" }}");
                case BLOCK -> {
                    String inner = s.text.strip();
                    if (inner.equals("generation") || inner.equals("endgeneration")) {
                        break; // HF AssistantTracker markers: no output of their own
                    }
                    String head = inner.split("\\s+", 2)[0];
                    boolean keep = head.equals("macro") || head.equals("call");
                    out.append("{% ").append(keep ? inner : rewriteExpression(inner)).append(" %}");
                }
                case RAW -> out.append("{% raw %}").append(s.text).append("{% endraw %}");
                case COMMENT -> { }
            }
        }
        return out.toString();
    }

    // ---------------------------------------------------------------- lexing

    private static List<Seg> lex(String src) throws SyntaxError {
        List<Seg> segs = new ArrayList<>();
        int pos = 0;
        int n = src.length();
        while (pos < n) {
            int start = findTagStart(src, pos);
            if (start < 0) {
                segs.add(new Seg(Kind.TEXT, src.substring(pos)));
                break;
            }
            segs.add(new Seg(Kind.TEXT, src.substring(pos, start)));
            char c = src.charAt(start + 1);
            if (c == '#') {
                int end = src.indexOf("#}", start + 2);
                if (end < 0) {
                    throw new SyntaxError("unclosed comment at line " + lineOf(src, start));
                }
                Seg seg = new Seg(Kind.COMMENT, "");
                String inner = src.substring(start + 2, end);
                seg.left = marker(inner, true);
                seg.right = marker(inner, false);
                segs.add(seg);
                pos = end + 2;
                continue;
            }
            boolean block = c == '%';
            int end = findTagEnd(src, start + 2, block);
            if (end < 0) {
                throw new SyntaxError("unclosed '" + (block ? "{%" : "{{") + "' at line " + lineOf(src, start));
            }
            String inner = src.substring(start + 2, end);
            Seg seg = new Seg(block ? Kind.BLOCK : Kind.VAR, inner);
            seg.left = marker(inner, true);
            seg.right = marker(inner, false);
            int from = seg.left != 0 ? 1 : 0;
            int to = inner.length() - (seg.right != 0 ? 1 : 0);
            seg.text = from <= to ? inner.substring(from, to) : "";
            pos = end + 2;
            if (block && seg.text.strip().equals("raw")) {
                Matcher m = ENDRAW.matcher(src);
                if (!m.find(pos)) {
                    throw new SyntaxError("missing {% endraw %} for raw block at line " + lineOf(src, start));
                }
                Seg raw = new Seg(Kind.RAW, src.substring(pos, m.start()));
                raw.left = seg.left;
                raw.right = seg.right;
                raw.rawEndLeft = m.group(1).isEmpty() ? 0 : m.group(1).charAt(0);
                raw.rawEndRight = m.group(2).isEmpty() ? 0 : m.group(2).charAt(0);
                segs.add(raw);
                pos = m.end();
                continue;
            }
            segs.add(seg);
        }
        // Normalise to TEXT (tag TEXT)* so that every tag has a text neighbour on both sides.
        List<Seg> norm = new ArrayList<>(segs.size() * 2 + 1);
        for (Seg s : segs) {
            boolean needText = s.kind != Kind.TEXT
                    && (norm.isEmpty() || norm.get(norm.size() - 1).kind != Kind.TEXT);
            if (needText) {
                norm.add(new Seg(Kind.TEXT, ""));
            }
            if (s.kind == Kind.TEXT && !norm.isEmpty() && norm.get(norm.size() - 1).kind == Kind.TEXT) {
                norm.get(norm.size() - 1).text += s.text;
            } else {
                norm.add(s);
            }
        }
        if (norm.isEmpty() || norm.get(norm.size() - 1).kind != Kind.TEXT) {
            norm.add(new Seg(Kind.TEXT, ""));
        }
        return norm;
    }

    private static int findTagStart(String src, int from) {
        int i = src.indexOf('{', from);
        while (i >= 0 && i + 1 < src.length()) {
            char c = src.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') {
                return i;
            }
            i = src.indexOf('{', i + 1);
        }
        return -1;
    }

    /** Index of the closing delimiter ("%}" or "}}") of a tag whose body starts at {@code from}. */
    private static int findTagEnd(String src, int from, boolean block) {
        int depth = 0;
        int n = src.length();
        for (int i = from; i < n; i++) {
            char c = src.charAt(i);
            if (c == '\'' || c == '"') {
                i = skipString(src, i);
                continue;
            }
            if (depth == 0) {
                if (block && c == '%' && i + 1 < n && src.charAt(i + 1) == '}') {
                    return i;
                }
                if (!block && c == '}' && i + 1 < n && src.charAt(i + 1) == '}') {
                    return i;
                }
            }
            if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if ((c == ')' || c == ']' || c == '}') && depth > 0) {
                depth--;
            }
        }
        return -1;
    }

    /** Given the index of an opening quote, returns the index of the closing quote (or the end). */
    private static int skipString(String s, int i) {
        char q = s.charAt(i);
        for (int j = i + 1; j < s.length(); j++) {
            char c = s.charAt(j);
            if (c == '\\') {
                j++;
            } else if (c == q) {
                return j;
            }
        }
        return s.length() - 1;
    }

    private static char marker(String inner, boolean left) {
        if (inner.isEmpty()) {
            return 0;
        }
        char c = left ? inner.charAt(0) : inner.charAt(inner.length() - 1);
        return c == '-' || c == '+' ? c : 0;
    }

    private static int lineOf(String src, int pos) {
        int line = 1;
        for (int i = 0; i < pos; i++) {
            if (src.charAt(i) == '\n') {
                line++;
            }
        }
        return line;
    }

    // ------------------------------------------------------------ whitespace

    /** Applies whitespace control, trim_blocks and lstrip_blocks as Jinja's lexer does. */
    private static void applyWhitespace(List<Seg> segs) {
        segs.get(0).lineStart = true;
        for (int i = 1; i < segs.size(); i += 2) {
            Seg tag = segs.get(i);
            Seg prev = segs.get(i - 1);
            Seg next = segs.get(i + 1);
            boolean blockLike = tag.kind != Kind.VAR; // BLOCK, COMMENT, RAW

            // left side of the tag
            if (tag.left == '-') {
                prev.text = prev.text.stripTrailing();
            } else if (tag.left != '+' && blockLike) {
                prev.text = lstripBlock(prev.text, prev.lineStart);
            }

            char right = tag.right;
            if (tag.kind == Kind.RAW) {
                // The raw start tag's right side trims the raw content; the end tag acts on what follows.
                if (tag.right == '-') {
                    tag.text = tag.text.stripLeading();
                } else if (tag.right != '+' && tag.text.startsWith("\n")) {
                    tag.text = tag.text.substring(1);
                }
                if (tag.rawEndLeft == '-') {
                    tag.text = tag.text.stripTrailing();
                }
                right = tag.rawEndRight;
            }

            // right side of the tag
            if (right == '-') {
                String t = next.text;
                String stripped = t.stripLeading();
                String consumed = t.substring(0, t.length() - stripped.length());
                next.text = stripped;
                next.lineStart = consumed.endsWith("\n");
            } else if (right != '+' && blockLike && next.text.startsWith("\n")) {
                next.text = next.text.substring(1);
                next.lineStart = true;
            } else {
                next.lineStart = false;
            }
        }
    }

    /** lstrip_blocks: drop spaces/tabs between the start of the line and a block tag. */
    private static String lstripBlock(String text, boolean lineStart) {
        int lpos = text.lastIndexOf('\n') + 1;
        if (lpos > 0 || lineStart) {
            String tail = text.substring(lpos);
            if (!tail.isEmpty() && tail.isBlank()) {
                return text.substring(0, lpos);
            }
        }
        return text;
    }

    // --------------------------------------------------- expression rewrites

    private enum T { WS, STR, IDENT, NUM, OP, OPEN, CLOSE }

    private record Tok(T type, String text) {}

    private static List<Tok> tokenize(String s) {
        List<Tok> toks = new ArrayList<>();
        int n = s.length();
        int i = 0;
        while (i < n) {
            char c = s.charAt(i);
            int j;
            if (Character.isWhitespace(c)) {
                j = i + 1;
                while (j < n && Character.isWhitespace(s.charAt(j))) {
                    j++;
                }
                toks.add(new Tok(T.WS, s.substring(i, j)));
            } else if (c == '\'' || c == '"') {
                j = skipString(s, i) + 1;
                toks.add(new Tok(T.STR, s.substring(i, j)));
            } else if (Character.isLetter(c) || c == '_') {
                j = i + 1;
                while (j < n && (Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '_')) {
                    j++;
                }
                toks.add(new Tok(T.IDENT, s.substring(i, j)));
            } else if (Character.isDigit(c)) {
                j = i + 1;
                while (j < n && (Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '.'
                        || s.charAt(j) == '_')) {
                    j++;
                }
                toks.add(new Tok(T.NUM, s.substring(i, j)));
            } else if (c == '(' || c == '[' || c == '{') {
                j = i + 1;
                toks.add(new Tok(T.OPEN, String.valueOf(c)));
            } else if (c == ')' || c == ']' || c == '}') {
                j = i + 1;
                toks.add(new Tok(T.CLOSE, String.valueOf(c)));
            } else {
                j = i + 1;
                if (i + 1 < n) {
                    String two = s.substring(i, i + 2);
                    if (two.equals("==") || two.equals("!=") || two.equals("<=") || two.equals(">=")
                            || two.equals("//") || two.equals("**")) {
                        j = i + 2;
                    }
                }
                toks.add(new Tok(T.OP, s.substring(i, j)));
            }
            i = j;
        }
        return toks;
    }

    static String rewriteExpression(String expr) {
        List<Tok> toks = tokenize(expr);
        StringBuilder sb = new StringBuilder(expr.length() + 16);
        rewriteSeq(toks, 0, toks.size(), sb);
        return sb.toString();
    }

    private static void rewriteSeq(List<Tok> toks, int from, int to, StringBuilder sb) {
        int i = from;
        while (i < to) {
            Tok t = toks.get(i);
            if (t.type == T.OPEN) {
                int close = matching(toks, i, to);
                Tok prev = prevSignificant(toks, i, from);
                boolean afterValue = prev != null && (prev.type == T.IDENT && !isKeyword(prev.text)
                        || prev.type == T.STR || (prev.type == T.CLOSE && !prev.text.equals("}")));
                String open = t.text;
                if (open.equals("(") && afterValue && prev.type != T.STR) {
                    sb.append('(');
                    rewriteArgs(toks, i + 1, close, sb);
                    if (close < to) {
                        sb.append(')');
                    }
                } else if (open.equals("[") && afterValue && topLevelCount(toks, i + 1, close, ":") == 2) {
                    appendSlice(toks, i + 1, close, sb);
                } else {
                    sb.append(open);
                    rewriteSeq(toks, i + 1, close, sb);
                    if (close < to) {
                        append(sb, toks.get(close).text);
                    }
                }
                i = close + 1;
            } else if (t.type == T.IDENT && t.text.equals("not") && isPrefixNot(prevSignificant(toks, i, from))
                    && hasComparison(toks, i + 1, operandEnd(toks, i + 1, to))) {
                // Jinja's "not" binds looser than a comparison (not a == b is not (a == b)); jinjava's binds tighter
                int end = operandEnd(toks, i + 1, to);
                sb.append("not (");
                rewriteSeq(toks, i + 1, end, sb);
                sb.append(") ");
                i = end;
            } else {
                String text = t.text;
                if (t.type == T.IDENT) {
                    Tok prev = prevSignificant(toks, i, from);
                    boolean attribute = prev != null && prev.text.equals(".");
                    if (!attribute) {
                        switch (text) {
                            case "True" -> text = "true";
                            case "False" -> text = "false";
                            case "None" -> text = "none";
                            default -> { }
                        }
                    }
                }
                append(sb, text);
                i++;
            }
        }
    }

    /** A "not" that starts an operand (not the one of "is not" or "not in"). */
    private static boolean isPrefixNot(Tok prev) {
        if (prev == null || prev.type == T.OPEN) return true;
        if (prev.type == T.OP) return true;
        return prev.type == T.IDENT && switch (prev.text) {
            case "and", "or", "not", "if", "else", "elif", "return" -> true;
            default -> false;
        };
    }

    /** Where the operand of a prefix "not" ends: at the next and/or/if/else outside brackets, or at to. */
    private static int operandEnd(List<Tok> toks, int from, int to) {
        for (int i = from; i < to; i++) {
            Tok t = toks.get(i);
            if (t.type == T.OPEN) i = matching(toks, i, to);
            else if (t.type == T.IDENT && Set.of("and", "or", "if", "else").contains(t.text)) return i;
        }
        return to;
    }

    private static boolean hasComparison(List<Tok> toks, int from, int to) {
        for (int i = from; i < to; i++) {
            Tok t = toks.get(i);
            if (t.type == T.OPEN) i = matching(toks, i, to);
            else if (t.type == T.OP && Set.of("==", "!=", "<", ">", "<=", ">=").contains(t.text)) return true;
        }
        return false;
    }

    /** Appends, keeping a '}' from directly following another '}' (jinjava would end the tag). */
    private static void append(StringBuilder sb, String text) {
        if (text.startsWith("}") && sb.length() > 0 && sb.charAt(sb.length() - 1) == '}') {
            sb.append(' ');
        }
        sb.append(text);
    }

    private static boolean isKeyword(String s) {
        return switch (s) {
            case "in", "is", "and", "or", "not", "if", "else", "elif", "for", "recursive" -> true;
            default -> false;
        };
    }

    /** Rewrites call arguments, parenthesising the values of keyword arguments. */
    private static void rewriteArgs(List<Tok> toks, int from, int to, StringBuilder sb) {
        int argStart = from;
        for (int i = from; i <= to; i++) {
            boolean atEnd = i == to;
            if (!atEnd && toks.get(i).type == T.OPEN) {
                i = matching(toks, i, to);
                continue;
            }
            if (atEnd || (toks.get(i).type == T.OP && toks.get(i).text.equals(","))) {
                rewriteArg(toks, argStart, i, sb);
                if (!atEnd) {
                    sb.append(',');
                }
                argStart = i + 1;
            }
        }
    }

    private static void rewriteArg(List<Tok> toks, int from, int to, StringBuilder sb) {
        int a = nextSignificant(toks, from, to);
        int b = a < 0 ? -1 : nextSignificant(toks, a + 1, to);
        if (a >= 0 && b >= 0 && toks.get(a).type == T.IDENT && toks.get(b).type == T.OP
                && toks.get(b).text.equals("=")) {
            for (int k = from; k <= b; k++) {
                sb.append(toks.get(k).text);
            }
            sb.append('(');
            rewriteSeq(toks, b + 1, to, sb);
            sb.append(')');
        } else {
            rewriteSeq(toks, from, to, sb);
        }
    }

    /** {@code x[a:b:c]} becomes {@code x|py_slice(a, b, c)} (missing parts become none). */
    private static void appendSlice(List<Tok> toks, int from, int to, StringBuilder sb) {
        sb.append("|py_slice(");
        int partStart = from;
        int part = 0;
        for (int i = from; i <= to; i++) {
            boolean atEnd = i == to;
            if (!atEnd && toks.get(i).type == T.OPEN) {
                i = matching(toks, i, to);
                continue;
            }
            if (atEnd || (toks.get(i).type == T.OP && toks.get(i).text.equals(":"))) {
                if (part++ > 0) {
                    sb.append(", ");
                }
                if (nextSignificant(toks, partStart, i) < 0) {
                    sb.append("none");
                } else {
                    sb.append('(');
                    rewriteSeq(toks, partStart, i, sb);
                    sb.append(')');
                }
                partStart = i + 1;
            }
        }
        sb.append(')');
    }

    private static int topLevelCount(List<Tok> toks, int from, int to, String op) {
        int count = 0;
        for (int i = from; i < to; i++) {
            Tok t = toks.get(i);
            if (t.type == T.OPEN) {
                i = matching(toks, i, to);
            } else if (t.type == T.OP && t.text.equals(op)) {
                count++;
            }
        }
        return count;
    }

    /** Index of the bracket closing the one at {@code open}, or {@code limit} if unbalanced. */
    private static int matching(List<Tok> toks, int open, int limit) {
        int depth = 0;
        for (int i = open; i < limit; i++) {
            T type = toks.get(i).type;
            if (type == T.OPEN) {
                depth++;
            } else if (type == T.CLOSE && --depth == 0) {
                return i;
            }
        }
        return limit;
    }

    private static Tok prevSignificant(List<Tok> toks, int i, int from) {
        for (int k = i - 1; k >= from; k--) {
            if (toks.get(k).type != T.WS) {
                return toks.get(k);
            }
        }
        return null;
    }

    private static int nextSignificant(List<Tok> toks, int from, int to) {
        for (int k = from; k < to; k++) {
            if (toks.get(k).type != T.WS) {
                return k;
            }
        }
        return -1;
    }
}
