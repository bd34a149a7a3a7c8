package clusterkv.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Byte-level BPE tokenizer (GPT-2 style) as llama.cpp implements it ({@code llm_tokenizer_bpe}):
 * the {@link PreTokenizer} splits the text into words, each word's UTF-8 bytes are spelled in
 * {@link ByteLevel}'s alphabet, and within a word neighbouring symbols are merged, lowest merge
 * rank first, until no listed merge applies.
 */
final class BpeTokenizer extends Tokenizer {

    private final PreTokenizer pre;
    private final Map<String, Integer> mergeRanks; // "left right" -> rank (position in the merges list)

    BpeTokenizer(Vocabulary vocab, PreTokenizer pre, String[] merges) {
        super(vocab, BpeTokenizer::byteLevelDecode);
        this.pre = pre;
        this.mergeRanks = new HashMap<>(merges.length * 2);
        for (int rank = 0; rank < merges.length; rank++) {
            // The first space after the first character separates the two halves, so a merge of a
            // literal space with something still reads right; the earliest listing of a pair counts.
            if (merges[rank].indexOf(' ', 1) > 0) mergeRanks.putIfAbsent(merges[rank], rank);
        }
    }

    @Override
    void encodeFragments(String text, List<SpecialTokenSplitter.Fragment> fragments, IntList out) {
        for (SpecialTokenSplitter.Fragment f : fragments) {
            if (!f.isText()) {
                out.add(f.token());
                continue;
            }
            for (String word : pre.split(text.substring(f.start(), f.end()))) {
                encodeWord(ByteLevel.encode(word.getBytes(StandardCharsets.UTF_8)), out);
            }
        }
    }

    /** A normal token's bytes: each character of its text back to the byte it spells. */
    private static byte[] byteLevelDecode(String text) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(text.length());
        text.codePoints().forEach(cp -> {
            int b = ByteLevel.decode(cp);
            if (b >= 0) {
                out.write(b);
            } else {
                // llama.cpp's marker for a character outside the byte alphabet.
                StringBuilder marker = new StringBuilder("[UNK_BYTE_0x");
                for (byte u : new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)) {
                    marker.append(String.format("%02x", u & 0xFF));
                }
                out.writeBytes(marker.append(text).append(']').toString().getBytes(StandardCharsets.UTF_8));
            }
        });
        return out.toByteArray();
    }

    /** Encodes one pre-tokenized word, given in the byte alphabet (one char per byte). */
    private void encodeWord(String word, IntList out) {
        if (word.isEmpty()) return;
        if (pre.ignoreMerges()) {
            int id = vocab.id(word);
            if (id >= 0) {
                out.add(id);
                return;
            }
        }
        int n = word.length();
        int[] len = new int[n], prev = new int[n], next = new int[n];
        for (int i = 0; i < n; i++) {
            len[i] = 1;
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        BigramQueue queue = new BigramQueue();
        for (int i = 1; i < n; i++) offer(queue, word, len, i - 1, i);
        while (!queue.isEmpty()) {
            int left = queue.left(), right = queue.right(), length = queue.length();
            queue.poll();
            // Symbols only grow rightwards over their neighbour, so unchanged lengths mean unchanged texts.
            if (len[left] == 0 || len[right] == 0 || len[left] + len[right] != length) continue;
            len[left] += len[right];
            len[right] = 0;
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
            offer(queue, word, len, prev[left], left);
            offer(queue, word, len, left, next[left]);
        }
        for (int i = 0; i != -1; i = next[i]) emit(word.substring(i, i + len[i]), out);
    }

    /** Queues a listed merge, lowest rank first. Symbol i starts at char i of the word: merges keep each symbol's start. */
    private void offer(BigramQueue queue, String word, int[] len, int left, int right) {
        if (left < 0 || right < 0) return;
        String key = word.substring(left, left + len[left]) + ' ' + word.substring(right, right + len[right]);
        Integer rank = mergeRanks.get(key);
        if (rank != null) queue.add(rank, left, right, len[left] + len[right]);
    }

    private void emit(String symbol, IntList out) {
        int id = vocab.id(symbol);
        if (id >= 0) {
            out.add(id);
            return;
        }
        // llama.cpp looks up each UTF-8 byte of the symbol as a one-byte token; only ASCII ones can exist.
        for (int i = 0; i < symbol.length(); i++) {
            char c = symbol.charAt(i);
            int t = c < 0x80 ? vocab.id(String.valueOf(c)) : -1;
            if (t >= 0) out.add(t);
        }
    }
}
