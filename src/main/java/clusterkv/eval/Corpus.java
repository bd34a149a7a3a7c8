package clusterkv.eval;

import java.util.ArrayList;
import java.util.List;

/** Sentences of a real text, for haystacks. */
final class Corpus {

    private Corpus() {}

    /**
     * Whole sentences of {@code text} from the first sentence start after {@code offset} on, wrapping around,
     * until about {@code chars} characters; line breaks become spaces.
     */
    static List<String> sentences(String text, int offset, int chars) {
        if (text.isBlank()) throw new IllegalArgumentException("the corpus is empty");
        String flat = text.replaceAll("\\s+", " ");
        int start = nextSentenceStart(flat, Math.floorMod(offset, flat.length()));
        List<String> out = new ArrayList<>();
        int taken = 0;
        int i = start;
        while (taken < chars) {
            int end = sentenceEnd(flat, i);
            String s = flat.substring(i, end).strip();
            if (!s.isEmpty()) {
                out.add(s);
                taken += s.length();
            }
            i = end >= flat.length() ? 0 : end;
            if (out.size() > chars) break; // a corpus without sentence ends
        }
        return out;
    }

    private static int nextSentenceStart(String s, int from) {
        for (int i = from; i + 1 < s.length(); i++) {
            if (isEnd(s.charAt(i)) && s.charAt(i + 1) == ' ') return i + 2 < s.length() ? i + 2 : 0;
        }
        return 0;
    }

    private static int sentenceEnd(String s, int from) {
        for (int i = from; i < s.length(); i++) {
            if (isEnd(s.charAt(i)) && (i + 1 == s.length() || s.charAt(i + 1) == ' ')) return i + 1;
        }
        return s.length();
    }

    private static boolean isEnd(char c) {
        return c == '.' || c == '!' || c == '?';
    }

    /** The last {@code fraction} of the text, from the first sentence start in it. */
    static String tail(String text, double fraction) {
        int from = (int) (text.length() * (1 - fraction));
        int start = nextSentenceStart(text, from);
        return text.substring(start == 0 ? from : start);
    }
}
