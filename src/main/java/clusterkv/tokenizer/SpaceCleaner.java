package clusterkv.tokenizer;

import java.util.Arrays;

/**
 * llama.cpp's "clean_spaces" step of detokenizing for most BPE vocabularies, which undoes the
 * spaces that English-style pre-tokenization leaves before punctuation and contractions:
 * " ?", " !", " .", " ," lose the space; a lone apostrophe between spaces loses both; " 's",
 * " 'm", " 're", " 've" lose the space. It works on bytes, as llama.cpp's does.
 */
final class SpaceCleaner {

    private SpaceCleaner() {}

    static byte[] clean(byte[] text) {
        byte[] t = text.clone();
        int n = spaceBeforePunctuation(t, t.length);
        n = apostropheBetweenSpaces(t, n);
        n = spaceBeforeContraction(t, n);
        return Arrays.copyOf(t, n);
    }

    // Each pass compacts the array in place and returns the new length, reading each byte and its
    // neighbours before the write position reaches them, exactly as llama.cpp's loops do.

    private static int spaceBeforePunctuation(byte[] t, int length) {
        int n = Math.min(length, 1);
        for (int i = 1; i < length; i++) {
            byte x = t[i];
            if (t[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) n--;
            t[n++] = x;
        }
        return n;
    }

    private static int apostropheBetweenSpaces(byte[] t, int length) {
        int n = Math.min(length, 1);
        for (int i = 1; i < length; i++) {
            byte x = t[i];
            if (x == '\'' && i + 1 < length && t[i - 1] == ' ' && t[i + 1] == ' ') {
                n--;          // drop the space before
                t[++i] = 0;   // and skip the one after
            }
            t[n++] = x;
        }
        return n;
    }

    private static int spaceBeforeContraction(byte[] t, int length) {
        int n = Math.min(length, 1);
        for (int i = 1; i < length; i++) {
            byte x = t[i];
            if (t[i - 1] == ' ' && x == '\'' && i + 1 < length) {
                byte x1 = t[i + 1];
                if (x1 == 's' || x1 == 'm') {
                    n--;
                } else if (i + 2 < length) {
                    byte x2 = t[i + 2];
                    if ((x1 == 'r' || x1 == 'v') && x2 == 'e') n--;
                }
            }
            t[n++] = x;
        }
        return n;
    }
}
