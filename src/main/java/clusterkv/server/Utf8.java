package clusterkv.server;

/** UTF-8 lengths without encoding: a size check must not cost the copy it is there to avoid. */
final class Utf8 {

    private Utf8() {}

    /** The bytes of the string in UTF-8 (a lone surrogate counts 3, as it is encoded as '?' or U+FFFD, at most 3). */
    static long length(String s) {
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) n += 1;
            else if (c < 0x800) n += 2;
            else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else n += 3;
        }
        return n;
    }
}
