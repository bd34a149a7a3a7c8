package clusterkv.tokenizer;

import java.util.Arrays;

/**
 * GPT-2's reversible byte-to-character alphabet. Byte-level BPE vocabularies store tokens as
 * strings over this alphabet, so that every byte (also control bytes and the bytes of a split
 * UTF-8 sequence) is a printable character and a merge never sees a space.
 *
 * <p>Printable Latin-1 bytes map to themselves; the 68 others map to U+0100 upwards, in byte
 * order.
 */
final class ByteLevel {

    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[0x200];

    static {
        Arrays.fill(CHAR_TO_BYTE, -1);
        int next = 0x100;
        for (int b = 0; b < 256; b++) {
            char c = isPrintable(b) ? (char) b : (char) next++;
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    private ByteLevel() {}

    private static boolean isPrintable(int b) {
        return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    }

    /** The vocabulary-alphabet spelling of some bytes: one character per byte. */
    static String encode(byte[] bytes) {
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) out[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        return new String(out);
    }

    /** The byte a vocabulary-alphabet code point stands for, or -1 if it is not in the alphabet. */
    static int decode(int codePoint) {
        return codePoint >= 0 && codePoint < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[codePoint] : -1;
    }
}
