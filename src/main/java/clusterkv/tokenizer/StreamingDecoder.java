package clusterkv.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Turns generated tokens into text one token at a time. A token can end in the middle of a
 * UTF-8 character (byte tokens such as {@code <0xE2>}, or byte-level BPE tokens), so bytes that
 * may still become a character are held back until the tokens that complete it arrive. Bytes
 * that can never become a character are emitted at once as U+FFFD.
 *
 * <p>Each token contributes its {@link Tokenizer#tokenBytes(int, boolean)} unchanged, as
 * llama.cpp's generation loop prints {@code llama_token_to_piece}: no leading space is removed
 * and no spaces are cleaned. Not thread-safe; use one per generated sequence.
 */
public final class StreamingDecoder {

    private final Tokenizer tokenizer;
    private final boolean renderSpecial;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    /** A decoder that leaves control tokens out of the text. */
    public StreamingDecoder(Tokenizer tokenizer) {
        this(tokenizer, false);
    }

    /** A decoder that, with {@code renderSpecial}, writes control tokens as their text. */
    public StreamingDecoder(Tokenizer tokenizer, boolean renderSpecial) {
        this.tokenizer = tokenizer;
        this.renderSpecial = renderSpecial;
    }

    /** Adds a token and returns the text it completes, possibly empty. */
    public String accept(int token) {
        pending.writeBytes(tokenizer.tokenBytes(token, renderSpecial));
        byte[] bytes = pending.toByteArray();
        int complete = completePrefix(bytes);
        pending.reset();
        pending.write(bytes, complete, bytes.length - complete);
        return new String(bytes, 0, complete, StandardCharsets.UTF_8);
    }

    /** Returns the bytes still held back, as U+FFFD, and starts afresh. */
    public String flush() {
        String rest = pending.toString(StandardCharsets.UTF_8);
        pending.reset();
        return rest;
    }

    /** Whether some bytes are held back waiting for the rest of a character. */
    public boolean hasPending() {
        return pending.size() > 0;
    }

    /**
     * The length of the longest prefix that cannot change with more bytes: everything up to a
     * final, so far valid but unfinished UTF-8 sequence.
     */
    static int completePrefix(byte[] bytes) {
        int n = bytes.length;
        // An unfinished sequence is a lead byte followed by fewer continuation bytes than it needs,
        // so it starts within the last three bytes.
        for (int back = 1; back <= Math.min(3, n); back++) {
            int b = bytes[n - back] & 0xFF;
            if ((b & 0xC0) == 0x80) continue; // continuation byte: keep looking for the lead
            int need = sequenceLength(b);
            return need > back ? n - back : n;
        }
        return n;
    }

    /** How many bytes a UTF-8 sequence starting with this byte has; 1 for bytes that cannot start one. */
    private static int sequenceLength(int lead) {
        if (lead >= 0xC2 && lead <= 0xDF) return 2;
        if (lead >= 0xE0 && lead <= 0xEF) return 3;
        if (lead >= 0xF0 && lead <= 0xF4) return 4;
        return 1;
    }
}
