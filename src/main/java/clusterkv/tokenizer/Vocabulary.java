package clusterkv.tokenizer;

import clusterkv.gguf.GGUFFormatException;
import clusterkv.gguf.GGUFMetadata;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The tokens of a GGUF vocabulary with their scores and attributes, the special token ids and
 * the add-BOS/EOS flags, read the way llama.cpp's {@code llama_vocab::load} reads them: the same
 * defaults per tokenizer type, the same detection of end-of-generation and other control tokens
 * by their text, and the same per-model attribute fixes.
 */
final class Vocabulary {

    // Token attributes, as llama.cpp's llama_token_attr bits.
    static final int UNKNOWN = 1, UNUSED = 1 << 1, NORMAL = 1 << 2, CONTROL = 1 << 3, USER_DEFINED = 1 << 4,
            BYTE = 1 << 5, LSTRIP = 1 << 7, RSTRIP = 1 << 8;

    enum Kind { SPM, BPE }

    // Texts that mark a token as control, by llama.cpp's lists.
    private static final Set<String> EOT_TEXTS = Set.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
            "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>");
    private static final Set<String> EOG_TEXTS = Set.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>",
            "<|flush|>", "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]",
            "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
            "<｜end▁of▁sentence｜>", "[e~[");
    private static final Set<String> FIM_PRE_TEXTS = Set.of("<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",
            "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>");
    private static final Set<String> FIM_SUF_TEXTS = Set.of("<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
            "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>");
    private static final Set<String> FIM_MID_TEXTS = Set.of("<|fim_middle|>", "<fim-middle>", "<fim_middle>",
            "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>");
    private static final Set<String> FIM_PAD_TEXTS = Set.of("<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]");
    private static final Set<String> FIM_REP_TEXTS = Set.of("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>");
    private static final Set<String> FIM_SEP_TEXTS = Set.of("<|file_sep|>");

    final Kind kind;
    private final String[] texts;
    private final float[] scores;
    private final int[] attrs;
    private final Map<String, Integer> ids;

    int bos = -1, eos = -1, unk = -1;
    private int eot = -1, eom = -1;
    // Fill-in-the-middle tokens: set in the file, llama.cpp does not look for them by text.
    private int fimPre = -1, fimSuf = -1, fimMid = -1, fimPad = -1, fimRep = -1, fimSep = -1;
    boolean addBos, addEos, addSpacePrefix, cleanSpaces;
    private final BitSet endOfGeneration = new BitSet();
    /** Control, user-defined and unknown tokens, longest text first: the ones matched in raw text. */
    private int[] specialTokens;

    private Vocabulary(Kind kind, String[] texts, float[] scores, int[] attrs) {
        this.kind = kind;
        this.texts = texts;
        this.scores = scores;
        this.attrs = attrs;
        this.ids = new HashMap<>(texts.length * 2);
        for (int i = 0; i < texts.length; i++) {
            // llama.cpp refuses duplicates; they can only come from invalid UTF-8 decoded to U+FFFD here, so keep the first.
            ids.putIfAbsent(texts[i], i);
        }
    }

    /** Reads the vocabulary; {@code pre} is the pre-tokenizer of a BPE vocabulary, null for SentencePiece. */
    static Vocabulary load(GGUFMetadata md, Kind kind, PreTokenizer pre) {
        String[] tokens = md.getStrings("tokenizer.ggml.tokens");
        if (tokens == null) throw new GGUFFormatException("GGUF metadata has no tokenizer.ggml.tokens array");
        int n = tokens.length;
        String[] texts = new String[n];
        for (int i = 0; i < n; i++) texts[i] = tokens[i].isEmpty() ? "[EMPTY_" + i + "]" : tokens[i];
        Vocabulary v = new Vocabulary(kind, texts, readScores(md, n), readAttributes(md, n));
        v.readFlags(md, pre);
        v.readSpecialIds(md, pre);
        v.detectControlTokens();
        v.collectEndOfGeneration();
        v.specialTokens = v.collectSpecialTokens();
        v.applyModelAttributes(md);
        return v;
    }

    private static float[] readScores(GGUFMetadata md, int n) {
        // llama.cpp reads float32 scores; integer ones have been seen in the wild and are read as their values.
        GGUFMetadata.Entry e = md.entry("tokenizer.ggml.scores");
        float[] out = new float[n];
        if (e == null) return out;
        if (e.value() instanceof int[] intScores) {
            requireLength(intScores.length, n, "scores");
            for (int i = 0; i < n; i++) out[i] = intScores[i];
            return out;
        }
        float[] scores = md.getFloats("tokenizer.ggml.scores"); // any other type: an error that names float32
        requireLength(scores.length, n, "scores");
        return scores;
    }

    private static int[] readAttributes(GGUFMetadata md, int n) {
        int[] types = md.getInts("tokenizer.ggml.token_type");
        int[] attrs = new int[n];
        if (types == null) {
            Arrays.fill(attrs, NORMAL);
            return attrs;
        }
        requireLength(types.length, n, "token_type");
        for (int i = 0; i < n; i++) {
            attrs[i] = switch (types[i]) {
                case 1 -> NORMAL;
                case 2 -> UNKNOWN;
                case 3 -> CONTROL;
                case 4 -> USER_DEFINED;
                case 5 -> UNUSED;
                case 6 -> BYTE;
                default -> 0; // undefined
            };
        }
        return attrs;
    }

    private static void requireLength(int actual, int n, String what) {
        if (actual < n) throw new GGUFFormatException("tokenizer.ggml." + what + " has " + actual + " entries for " + n + " tokens");
    }

    private void readFlags(GGUFMetadata md, PreTokenizer pre) {
        if (kind == Kind.SPM) {
            addSpacePrefix = true;
            cleanSpaces = false;
            addBos = true;
        } else {
            addSpacePrefix = false;
            cleanSpaces = pre.cleanSpaces();
            addBos = pre.addBosByDefault();
        }
        addEos = false;
        addSpacePrefix = flag(md, "tokenizer.ggml.add_space_prefix", addSpacePrefix);
        addBos = flag(md, "tokenizer.ggml.add_bos_token", addBos);
        addEos = flag(md, "tokenizer.ggml.add_eos_token", addEos);
    }

    private static boolean flag(GGUFMetadata md, String key, boolean fallback) {
        Boolean b = md.getBool(key);
        return b != null ? b : fallback;
    }

    private void readSpecialIds(GGUFMetadata md, PreTokenizer pre) {
        if (kind == Kind.SPM) {
            bos = validDefault(1);
            eos = validDefault(2);
            unk = validDefault(0);
        } else {
            // llama.cpp's defaults for a BPE vocabulary, whatever token 11 is.
            bos = pre.hasBos() ? validDefault(11) : -1;
            eos = validDefault(11);
        }
        bos = id(md, "bos_token_id", bos);
        eos = id(md, "eos_token_id", eos);
        eot = id(md, "eot_token_id", eot);
        eom = id(md, "eom_token_id", eom);
        unk = id(md, "unknown_token_id", unk);
        fimPre = id(md, "fim_pre_token_id", fimPre);
        fimSuf = id(md, "fim_suf_token_id", fimSuf);
        fimMid = id(md, "fim_mid_token_id", fimMid);
        fimPad = id(md, "fim_pad_token_id", fimPad);
        fimRep = id(md, "fim_rep_token_id", fimRep);
        fimSep = id(md, "fim_sep_token_id", fimSep);
        fimPre = id(md, "prefix_token_id", fimPre); // deprecated keys, read last as llama.cpp does
        fimSuf = id(md, "suffix_token_id", fimSuf);
        fimMid = id(md, "middle_token_id", fimMid);
        if (addBos && bos < 0) throw new GGUFFormatException("the tokenizer adds BOS (tokenizer.ggml.add_bos_token or its default), but tokenizer.ggml.bos_token_id is not set");
        if (addEos && eos < 0) throw new GGUFFormatException("tokenizer.ggml.add_eos_token is true, but tokenizer.ggml.eos_token_id is not set");
    }

    private int validDefault(int id) {
        return id < texts.length ? id : -1;
    }

    /** A token id from the metadata; an absent or out-of-range one keeps the default. */
    private int id(GGUFMetadata md, String key, int fallback) {
        long v = md.getLong("tokenizer.ggml." + key, -1);
        return v >= 0 && v < texts.length ? (int) v : fallback;
    }

    /** llama.cpp finds EOT, EOM and fill-in-the-middle tokens by their text and makes them control tokens. */
    private void detectControlTokens() {
        for (int id = 0; id < texts.length; id++) {
            String t = texts[id];
            if (eot < 0 && EOT_TEXTS.contains(t)) eot = markControl(id);
            if (eom < 0 && t.equals("<|eom_id|>")) eom = markControl(id);
            if (fimPre < 0 && FIM_PRE_TEXTS.contains(t)) fimPre = markControl(id);
            if (fimSuf < 0 && FIM_SUF_TEXTS.contains(t)) fimSuf = markControl(id);
            if (fimMid < 0 && FIM_MID_TEXTS.contains(t)) fimMid = markControl(id);
            if (fimPad < 0 && FIM_PAD_TEXTS.contains(t)) fimPad = markControl(id);
            if (fimRep < 0 && FIM_REP_TEXTS.contains(t)) fimRep = markControl(id);
            if (fimSep < 0 && FIM_SEP_TEXTS.contains(t)) fimSep = markControl(id);
        }
        // Control tokens named "unused" are placeholders.
        for (int id = 0; id < texts.length; id++) {
            if ((attrs[id] & CONTROL) != 0 && texts[id].contains("unused")) attrs[id] |= UNUSED;
        }
    }

    private int markControl(int id) {
        attrs[id] |= CONTROL;
        return id;
    }

    private void collectEndOfGeneration() {
        for (int id : new int[] {fimPad, fimRep, fimSep}) if (id >= 0) endOfGeneration.set(id);
        for (int id = 0; id < texts.length; id++) {
            if (EOG_TEXTS.contains(texts[id])) endOfGeneration.set(markControl(id));
        }
        // gpt-oss's channel markers are always rendered.
        for (String t : new String[] {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}) {
            Integer id = ids.get(t);
            if (id != null) attrs[id] = USER_DEFINED;
        }
        for (int id : new int[] {eos, eot, eom}) if (id >= 0) endOfGeneration.set(id);
        // In o200k_harmony and solar-open vocabularies "<|end|>" ends a message, not the generation.
        boolean hasReturn = eogHas("<|return|>"), hasCall = eogHas("<|call|>") || eogHas("<|calls|>");
        boolean hasFlush = eogHas("<|flush|>"), hasEnd = eogHas("<|end|>");
        if (hasEnd && hasCall && (hasReturn || hasFlush)) {
            int end = ids.get("<|end|>");
            endOfGeneration.clear(end);
            attrs[end] = USER_DEFINED;
        }
        // Gemma 4 and PaddleOCR use "</s>" as plain text.
        if (eogHas("<|tool_response>") && eogHas("</s>")) {
            int s = ids.get("</s>");
            endOfGeneration.clear(s);
            attrs[s] = NORMAL;
        }
    }

    private boolean eogHas(String text) {
        Integer id = ids.get(text);
        return id != null && endOfGeneration.get(id);
    }

    private int[] collectSpecialTokens() {
        List<Integer> special = new ArrayList<>();
        for (int id = 0; id < texts.length; id++) {
            if ((attrs[id] & (CONTROL | USER_DEFINED | UNKNOWN)) != 0) special.add(id);
        }
        // llama.cpp sorts by length only (unstable); ties go by id here.
        special.sort(Comparator.comparingInt((Integer id) -> -texts[id].length()).thenComparingInt(id -> id));
        return special.stream().mapToInt(Integer::intValue).toArray();
    }

    /** llama.cpp's per-model fixes of strip attributes that GGUF files do not carry. */
    private void applyModelAttributes(GGUFMetadata md) {
        String name = md.getString("general.name", "").toLowerCase(Locale.ROOT);
        String pre = md.getString("tokenizer.ggml.pre", "");
        String arch = md.getString("general.architecture", "");
        if (pre.contains("jina-v2-de") || pre.contains("jina-v2-es") || pre.contains("jina-v2-code")
                || arch.contains("nomic-bert-moe") || arch.contains("jina-bert-v3")) {
            setAttr("<mask>", LSTRIP, true);
        } else if (name.contains("phi-3") || name.contains("phi3")) {
            for (int id : specialTokens) attrs[id] |= RSTRIP;
            setAttr("</s>", RSTRIP, true);
            for (String t : new String[] {"<unk>", "<s>", "<|endoftext|>"}) setAttr(t, RSTRIP, false);
        } else if (name.contains("modern-bert")) {
            setAttr("[MASK]", LSTRIP, true);
        }
    }

    private void setAttr(String text, int attr, boolean on) {
        Integer id = ids.get(text);
        if (id == null) return;
        attrs[id] = on ? attrs[id] | attr : attrs[id] & ~attr;
    }

    int size() { return texts.length; }

    String text(int id) { return texts[id]; }

    float score(int id) { return scores[id]; }

    boolean has(int id, int attr) { return (attrs[id] & attr) != 0; }

    /** The id of a token text, or -1. */
    int id(String text) {
        Integer id = ids.get(text);
        return id == null ? -1 : id;
    }

    boolean isEndOfGeneration(int id) { return id >= 0 && endOfGeneration.get(id); }

    int[] specialTokens() { return specialTokens; }
}
