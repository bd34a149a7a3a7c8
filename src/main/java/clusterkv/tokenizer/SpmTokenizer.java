package clusterkv.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * SentencePiece-style tokenizer as llama.cpp implements it ({@code llm_tokenizer_spm}): spaces
 * become '▁', a '▁' goes in front of text that starts the input or follows a special token,
 * then neighbouring pieces are merged, best-scoring merge first, as long as the merged text is
 * a token. Pieces that end up not being tokens are spelled with byte tokens {@code <0xXX>}.
 */
final class SpmTokenizer extends Tokenizer {

    private static final char SPACE = '\u2581'; // '▁'

    private final int[] byteTokens = new int[256];
    /** Code points that some token has right before a '▁'; only after these can a merge cross into a word. */
    private final Set<Integer> joinsNextWord = new HashSet<>();

    SpmTokenizer(Vocabulary vocab) {
        super(vocab, SpmTokenizer::unescape);
        for (int b = 0; b < 256; b++) byteTokens[b] = byteToken(vocab, b);
        for (int id = 0; id < vocab.size(); id++) {
            String t = vocab.text(id);
            for (int i = t.indexOf(SPACE, 1); i > 0; i = t.indexOf(SPACE, i + 1)) joinsNextWord.add(t.codePointBefore(i));
        }
    }

    private static int byteToken(Vocabulary vocab, int b) {
        int id = vocab.id(String.format("<0x%02X>", b));
        if (id < 0 && b < 0x80) id = vocab.id(String.valueOf((char) b));
        // llama.cpp fails here; a vocabulary without byte tokens gets the unknown token instead.
        return id >= 0 ? id : vocab.unk;
    }

    @Override
    void encodeFragments(String text, List<SpecialTokenSplitter.Fragment> fragments, IntList out) {
        boolean afterSpecial = true; // the start of the input counts as following a special token
        for (SpecialTokenSplitter.Fragment f : fragments) {
            if (f.isText()) {
                String piece = text.substring(f.start(), f.end());
                if (vocab.addSpacePrefix && afterSpecial) piece = " " + piece;
                tokenize(piece.replace(' ', SPACE), out);
                afterSpecial = false;
            } else {
                out.add(f.token());
                afterSpecial = true;
            }
        }
    }

    /** A normal token's bytes: its text with '▁' back to spaces. */
    private static byte[] unescape(String text) {
        return text.replace(SPACE, ' ').getBytes(StandardCharsets.UTF_8);
    }

    private void tokenize(String text, IntList out) {
        Symbols symbols = new Symbols(text);
        if (symbols.count == 0) return;
        BigramQueue queue = new BigramQueue();
        // No token spans a '▁' that follows a code point outside joinsNextWord, so the text falls
        // into words that merge independently: merging word by word keeps the queue small and gives
        // the same result as llama.cpp's single queue, whose order restricted to a word is the same.
        int wordStart = 0;
        for (int i = 1; i < symbols.count; i++) {
            if (symbols.startsWord(i) && !joinsNextWord.contains(symbols.source.codePointBefore(symbols.start[i]))) {
                merge(queue, symbols, wordStart, i);
                wordStart = i;
            }
        }
        merge(queue, symbols, wordStart, symbols.count);
        for (int i = 0; i != -1; i = symbols.next[i]) emit(symbols.text(i), out);
    }

    /** Runs the merges of symbols [from, to), which no merge can join to the symbols around them. */
    private void merge(BigramQueue queue, Symbols symbols, int from, int to) {
        for (int i = from + 1; i < to; i++) offer(queue, symbols, i - 1, i);
        while (!queue.isEmpty()) {
            int left = queue.left(), right = queue.right(), length = queue.length();
            queue.poll();
            // A merge of a symbol that has since grown or been absorbed is stale.
            if (symbols.len[left] == 0 || symbols.len[right] == 0 || symbols.len[left] + symbols.len[right] != length) continue;
            symbols.merge(left, right);
            offer(queue, symbols, symbols.prev[left], left);
            offer(queue, symbols, left, symbols.next[left]);
        }
    }

    /** Queues the merge of two neighbours if their joined text is a token; higher scores merge first. */
    private void offer(BigramQueue queue, Symbols symbols, int left, int right) {
        if (left < 0 || right < 0) return;
        int length = symbols.len[left] + symbols.len[right];
        int id = vocab.id(symbols.source.substring(symbols.start[left], symbols.start[left] + length));
        if (id >= 0) queue.add(BigramQueue.descendingScore(vocab.score(id)), left, right, length);
    }

    private void emit(String piece, IntList out) {
        int id = vocab.id(piece);
        if (id >= 0) {
            out.add(id);
            return;
        }
        for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
            int t = byteTokens[b & 0xFF];
            if (t >= 0) out.add(t);
        }
    }

    /**
     * The text as a doubly linked list of symbols, one per code point at first; a merge grows the
     * left symbol over its right neighbour, whose length drops to 0.
     */
    private static final class Symbols {
        final String source;
        final int count;
        final int[] start, len, prev, next;

        Symbols(String source) {
            this.source = source;
            this.count = source.codePointCount(0, source.length());
            start = new int[count];
            len = new int[count];
            prev = new int[count];
            next = new int[count];
            for (int i = 0, pos = 0; i < count; i++) {
                int width = Character.charCount(source.codePointAt(pos));
                start[i] = pos;
                len[i] = width;
                prev[i] = i - 1;
                next[i] = i + 1 < count ? i + 1 : -1;
                pos += width;
            }
        }

        boolean startsWord(int i) {
            return source.charAt(start[i]) == SPACE;
        }

        void merge(int left, int right) {
            len[left] += len[right];
            len[right] = 0;
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
        }

        String text(int i) {
            return source.substring(start[i], start[i] + len[i]);
        }
    }
}
