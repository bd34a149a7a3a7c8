package clusterkv.tokenizer;

import clusterkv.gguf.GGUFFormatException;
import clusterkv.gguf.GGUFMetadata;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Function;

/**
 * A tokenizer read from GGUF metadata that gives the same token ids as llama.cpp's
 * {@code llama_tokenize} and the same text as its {@code llama_detokenize}.
 *
 * <p>Two kinds are supported: SentencePiece ({@code tokenizer.ggml.model = "llama"}, see
 * {@link SpmTokenizer}) and byte-level BPE ({@code "gpt2"}, see {@link BpeTokenizer}).
 * Instances are immutable and safe to share between threads.
 */
public abstract sealed class Tokenizer permits SpmTokenizer, BpeTokenizer {

    final Vocabulary vocab;
    private final SpecialTokenSplitter splitter;
    private final byte[][] pieces; // every token's bytes with special tokens rendered

    /** @param normalTokenBytes the bytes a normal (not control, byte or user-defined) token text stands for */
    Tokenizer(Vocabulary vocab, Function<String, byte[]> normalTokenBytes) {
        this.vocab = vocab;
        this.splitter = new SpecialTokenSplitter(vocab);
        this.pieces = new byte[vocab.size()][];
        for (int id = 0; id < pieces.length; id++) pieces[id] = piece(id, normalTokenBytes);
    }

    /**
     * The tokenizer a model's metadata describes; a vocabulary-only GGUF file is enough.
     *
     * @throws GGUFFormatException for a tokenizer model or pre-tokenizer this class does not know, or a broken vocabulary
     */
    public static Tokenizer fromMetadata(GGUFMetadata md) {
        String name = md.getString("tokenizer.ggml.model", null);
        if (name == null) throw new GGUFFormatException("GGUF metadata has no tokenizer.ggml.model");
        return switch (name) {
            case "llama" -> new SpmTokenizer(Vocabulary.load(md, Vocabulary.Kind.SPM, null));
            case "gpt2" -> {
                PreTokenizer pre = PreTokenizer.forName(md.getString("tokenizer.ggml.pre", null));
                yield new BpeTokenizer(Vocabulary.load(md, Vocabulary.Kind.BPE, pre), pre, merges(md));
            }
            default -> throw new GGUFFormatException("unsupported tokenizer model '" + name
                    + "' (tokenizer.ggml.model); supported: llama (SentencePiece), gpt2 (byte-level BPE)");
        };
    }

    private static String[] merges(GGUFMetadata md) {
        String[] merges = md.getStrings("tokenizer.ggml.merges");
        if (merges == null) throw new GGUFFormatException("GGUF metadata has no tokenizer.ggml.merges for a gpt2 tokenizer");
        return merges;
    }

    /**
     * The token ids of a text.
     *
     * @param addSpecial   add BOS in front and EOS at the end, where the model's flags ask for them
     * @param parseSpecial read the texts of control tokens (such as {@code <|im_start|>}) in the text as
     *                     those tokens; user-defined tokens are always read as such
     */
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        IntList out = new IntList();
        if (addSpecial && vocab.addBos) out.add(vocab.bos);
        encodeFragments(text, splitter.split(text, parseSpecial), out);
        if (addSpecial && vocab.addEos) out.add(vocab.eos);
        return out.toArray();
    }

    /** The ids of a text with BOS/EOS as the model asks and special token texts left as plain text. */
    public int[] encode(String text) {
        return encode(text, true, false);
    }

    abstract void encodeFragments(String text, List<SpecialTokenSplitter.Fragment> fragments, IntList out);

    private byte[] piece(int id, Function<String, byte[]> normalTokenBytes) {
        String text = vocab.text(id);
        if (vocab.has(id, Vocabulary.UNKNOWN | Vocabulary.CONTROL | Vocabulary.USER_DEFINED)) {
            return text.getBytes(StandardCharsets.UTF_8);
        }
        if (vocab.has(id, Vocabulary.NORMAL)) return normalTokenBytes.apply(text);
        if (vocab.has(id, Vocabulary.BYTE)) return byteOf(text);
        return new byte[0]; // unused and undefined tokens stand for nothing
    }

    /** The byte of a byte token, spelled {@code <0xXX>}; nothing for a malformed one. */
    private static byte[] byteOf(String text) {
        if (text.length() != 6 || !text.startsWith("<0x") || text.charAt(5) != '>') return new byte[0];
        try {
            return new byte[] {(byte) Integer.parseInt(text.substring(3, 5), 16)};
        } catch (NumberFormatException e) {
            return new byte[0];
        }
    }

    /** The bytes of a token as llama.cpp's {@code llama_token_to_piece} gives them; control and unknown tokens give none. */
    public byte[] tokenBytes(int id) {
        return tokenBytes(id, false);
    }

    /** The bytes of a token; with {@code renderSpecial} control and unknown tokens give their text. */
    public byte[] tokenBytes(int id, boolean renderSpecial) {
        if (!renderSpecial && vocab.has(id, Vocabulary.UNKNOWN | Vocabulary.CONTROL)) return new byte[0];
        return pieces[id].clone();
    }

    /** Tokens back to text as llama.cpp's {@code common_detokenize(ctx, ids, false)}: control tokens are left out. */
    public String decode(int[] ids) {
        return decode(ids, false);
    }

    /**
     * Tokens back to text as llama.cpp's {@code llama_detokenize} with remove_special false: the
     * space SentencePiece put in front of the first token is removed, and BPE vocabularies that ask
     * for it get the spaces before punctuation cleaned. Bytes that are not valid UTF-8 become U+FFFD.
     */
    public String decode(int[] ids, boolean renderSpecial) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        boolean removeSpace = vocab.addSpacePrefix;
        for (int id : ids) {
            byte[] piece = renderSpecial || !vocab.has(id, Vocabulary.UNKNOWN | Vocabulary.CONTROL) ? pieces[id] : new byte[0];
            int from = removeSpace && piece.length > 0 && piece[0] == ' ' ? 1 : 0;
            bytes.write(piece, from, piece.length - from);
            removeSpace = false;
        }
        byte[] text = bytes.toByteArray();
        if (vocab.cleanSpaces) text = SpaceCleaner.clean(text);
        return new String(text, StandardCharsets.UTF_8);
    }

    /** The text of a token as the vocabulary spells it (with '▁' or GPT-2's byte alphabet). */
    public String tokenText(int id) {
        return vocab.text(id);
    }

    /** The id of the token spelled exactly so in the vocabulary, or -1. */
    public int tokenId(String text) {
        return vocab.id(text);
    }

    public int vocabSize() { return vocab.size(); }

    /** The beginning-of-sequence token, or -1 if none. */
    public int bos() { return vocab.bos; }

    /** The end-of-sequence token, or -1 if none. */
    public int eos() { return vocab.eos; }

    /** Whether {@link #encode(String, boolean, boolean)} with addSpecial puts BOS in front. */
    public boolean addBos() { return vocab.addBos; }

    /** Whether {@link #encode(String, boolean, boolean)} with addSpecial puts EOS at the end. */
    public boolean addEos() { return vocab.addEos; }

    /** Whether generation should stop at this token: EOS, EOT, EOM and the end tokens llama.cpp knows by text. */
    public boolean isEndOfGeneration(int id) {
        return vocab.isEndOfGeneration(id);
    }

    /** Whether a token is a control token (not rendered by {@link #decode(int[])}). */
    public boolean isControl(int id) {
        return vocab.has(id, Vocabulary.CONTROL);
    }
}
