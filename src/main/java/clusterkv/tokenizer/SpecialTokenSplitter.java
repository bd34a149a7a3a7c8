package clusterkv.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Cuts the texts of special tokens out of raw text before the tokenizer proper sees it
 * (llama.cpp's {@code tokenizer_st_partition}). User-defined tokens are always cut out;
 * control and unknown tokens only when the caller asks to parse special tokens.
 *
 * <p>Tokens are tried longest first, each over all the text still raw, so a longer token wins
 * over a shorter one it contains wherever it occurs, not only where it starts first. A trie of
 * the token texts finds, in one pass, which of them occur at all, so that vocabularies with
 * thousands of user-defined tokens do not search the text thousands of times.
 */
final class SpecialTokenSplitter {

    /** A special token ({@code token >= 0}) or the raw text {@code [start, end)}. */
    record Fragment(int token, int start, int end) {
        static Fragment text(int start, int end) {
            return new Fragment(-1, start, end);
        }

        boolean isText() {
            return token < 0;
        }
    }

    /** A trie node over token texts; {@code order} is the token's place in the longest-first order, or -1. */
    private static final class Node {
        final Map<Character, Node> children = new HashMap<>();
        int order = -1;
    }

    private final Vocabulary vocab;
    private final int[] tokens; // longest text first
    private final Node root = new Node();

    SpecialTokenSplitter(Vocabulary vocab) {
        this.vocab = vocab;
        this.tokens = vocab.specialTokens();
        for (int i = 0; i < tokens.length; i++) {
            Node node = root;
            for (char c : vocab.text(tokens[i]).toCharArray()) node = node.children.computeIfAbsent(c, k -> new Node());
            node.order = i;
        }
    }

    List<Fragment> split(String text, boolean parseSpecial) {
        List<Fragment> fragments = new ArrayList<>();
        if (!text.isEmpty()) fragments.add(Fragment.text(0, text.length()));
        boolean[] occurs = occurring(text);
        for (int i = 0; i < tokens.length; i++) {
            int id = tokens[i];
            if (!occurs[i] || (!parseSpecial && vocab.has(id, Vocabulary.CONTROL | Vocabulary.UNKNOWN))) continue;
            fragments = splitOn(id, text, fragments);
        }
        return fragments;
    }

    /** Which tokens (by place in the longest-first order) occur somewhere in the text. */
    private boolean[] occurring(String text) {
        boolean[] occurs = new boolean[tokens.length];
        for (int start = 0; start < text.length(); start++) {
            Node node = root;
            for (int i = start; i < text.length(); i++) {
                node = node.children.get(text.charAt(i));
                if (node == null) break;
                if (node.order >= 0) occurs[node.order] = true;
            }
        }
        return occurs;
    }

    private List<Fragment> splitOn(int id, String text, List<Fragment> fragments) {
        String needle = vocab.text(id);
        boolean lstrip = vocab.has(id, Vocabulary.LSTRIP), rstrip = vocab.has(id, Vocabulary.RSTRIP);
        List<Fragment> out = new ArrayList<>(fragments.size() + 2);
        int next = text.indexOf(needle); // the first occurrence at or after the current fragment
        if (next < 0) return fragments;
        for (Fragment f : fragments) {
            if (!f.isText()) {
                out.add(f);
                continue;
            }
            int start = f.start();
            while (true) {
                if (next >= 0 && next < start) next = text.indexOf(needle, start);
                if (next < 0 || next + needle.length() > f.end()) {
                    if (start < f.end()) out.add(Fragment.text(start, f.end()));
                    break;
                }
                int leftEnd = next;
                if (lstrip) while (leftEnd > start && isSpace(text.charAt(leftEnd - 1))) leftEnd--;
                if (leftEnd > start) out.add(Fragment.text(start, leftEnd));
                out.add(new Fragment(id, next, next + needle.length()));
                start = next + needle.length();
                if (rstrip) while (start < f.end() && isSpace(text.charAt(start))) start++;
            }
        }
        return out;
    }

    /** C's isspace, which llama.cpp uses for stripping. */
    private static boolean isSpace(char c) {
        return c == ' ' || (c >= '\t' && c <= '\r');
    }
}
