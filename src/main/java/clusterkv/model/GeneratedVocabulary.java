package clusterkv.model;

import clusterkv.gguf.GGUFMetadata;

import java.util.LinkedHashSet;
import java.util.Set;

/**
 * A SentencePiece-style vocabulary of any size, for synthetic models that must run without a
 * tokenizer file: unknown/BOS/EOS, the 256 byte-fallback tokens, single characters, then
 * generated letter pieces with and without the word-start marker.
 */
final class GeneratedVocabulary {

    private static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, BYTE = 6;

    private GeneratedVocabulary() {}

    static void addTo(GGUFMetadata md, int size) {
        if (size < 300) throw new IllegalArgumentException("a generated vocabulary needs at least 300 tokens, got " + size);
        String[] tokens = new String[size];
        float[] scores = new float[size];
        int[] types = new int[size];
        tokens[0] = "<unk>"; types[0] = UNKNOWN;
        tokens[1] = "<s>"; types[1] = CONTROL;
        tokens[2] = "</s>"; types[2] = CONTROL;
        for (int b = 0; b < 256; b++) {
            tokens[3 + b] = String.format("<0x%02X>", b);
            types[3 + b] = BYTE;
        }
        Set<String> pieces = new LinkedHashSet<>();
        for (char ch = ' ' + 1; ch < 127; ch++) pieces.add(String.valueOf(ch));
        for (int i = 0; pieces.size() < size - 259; i++) {
            String word = letters(i);
            pieces.add("\u2581" + word);
            pieces.add(word);
        }
        int i = 259;
        for (String piece : pieces) {
            if (i == size) break;
            tokens[i] = piece;
            types[i] = NORMAL;
            scores[i] = -(i - 259) * 0.01f - (piece.length() == 1 ? 0 : 1);
            i++;
        }
        md.putString("tokenizer.ggml.model", "llama");
        md.putStrings("tokenizer.ggml.tokens", tokens);
        md.putFloats("tokenizer.ggml.scores", scores);
        md.putInts("tokenizer.ggml.token_type", types);
        md.putUInt32("tokenizer.ggml.unknown_token_id", 0);
        md.putUInt32("tokenizer.ggml.bos_token_id", 1);
        md.putUInt32("tokenizer.ggml.eos_token_id", 2);
    }

    /** 0 -> "a", 25 -> "z", 26 -> "aa", ... */
    private static String letters(int n) {
        StringBuilder sb = new StringBuilder();
        n++;
        while (n > 0) {
            n--;
            sb.append((char) ('a' + n % 26));
            n /= 26;
        }
        return sb.reverse().toString();
    }
}
