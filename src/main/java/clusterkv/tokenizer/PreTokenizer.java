package clusterkv.tokenizer;

import clusterkv.gguf.GGUFFormatException;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits text into words before byte-level BPE, with the regexes llama.cpp uses for each
 * {@code tokenizer.ggml.pre} name, and the vocabulary options llama.cpp ties to that name.
 *
 * <p>The regexes are applied one after the other: each one splits every piece left by the
 * previous ones into its matches and the text between them, which stays a piece of its own.
 *
 * <p>llama.cpp runs these regexes through {@code std::regex} on a "collapsed" copy of the text
 * (every non-ASCII code point replaced by one byte standing for its Unicode category, and
 * {@code \p{L}} etc. rewritten to match that byte plus the ASCII members of the category), or,
 * for regexes without categories, on the code points with non-ASCII whitespace replaced by
 * U+000B. Its hand-written GPT-2 and Llama-3 splitters behave like the collapsed regexes. We
 * reproduce the collapsed matching rather than Java's own {@code \p{..}} support so that its
 * quirks carry over: {@code \p{Lu}} matches any letter, {@code \p{S}} does not match '~',
 * ideographic space does not match a literal U+3000 in a class.
 */
final class PreTokenizer {

    // The regexes, as llama.cpp writes them (src/llama-vocab.cpp, llm_tokenizer_bpe).
    private static final String GPT2 =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
    private static final String CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
    private static final String LLAMA3 = CONTRACTIONS
            + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String QWEN2 = CONTRACTIONS
            + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String SEED_CODER = CONTRACTIONS
            + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String BAILINGMOE = "'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])"
            + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+";
    private static final String UPPER_THEN_LOWER = "((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+";
    private static final String LOWER_AFTER_UPPER = "((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*";
    private static final String TEKKEN = "[^\\r\\n\\p{L}\\p{N}]?" + UPPER_THEN_LOWER
            + "|[^\\r\\n\\p{L}\\p{N}]?" + LOWER_AFTER_UPPER
            + "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String GPT4O = "[^\\r\\n\\p{L}\\p{N}]?" + UPPER_THEN_LOWER + CONTRACTIONS + "?"
            + "|[^\\r\\n\\p{L}\\p{N}]?" + LOWER_AFTER_UPPER + CONTRACTIONS + "?"
            + "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    // CJK ideographs, a block of other scripts, Hangul: 一-龥 ࠀ-一 가-퟿
    private static final String CJK = "[\\u4E00-\\u9FA5\\u0800-\\u4E00\\uAC00-\\uD7FF]+";
    // Cased letters (Lu, Ll, Lt) as listed in DeepSeek's tokenizer.json
    private static final String DEEPSEEK_LETTERS = "\\s?[\\u0041-\\u005A\\u0061-\\u007A\\u00B5\\u00C0-\\u00D6"
            + "\\u00D8-\\u00F6\\u00F8-\\u01BA\\u01BC-\\u01BF\\u01C4-\\u0293\\u0295-\\u02AF\\u0370-\\u0373\\u0376\\u0377"
            + "\\u037B-\\u037D\\u037F\\u0386\\u0388-\\u038A\\u038C\\u038E-\\u03A1\\u03A3-\\u03F5\\u03F7-\\u0481"
            + "\\u048A-\\u052F\\u0531-\\u0556\\u10A0-\\u10C5\\u13A0-\\u13F5\\u13F8-\\u13FD\\u1C90-\\u1CBA\\u1CBD-\\u1CBF"
            + "\\u1D00-\\u1D2B\\u1D6B-\\u1D77\\u1D79-\\u1D9A\\u1E00-\\u1F15\\u1F18-\\u1F1D\\u1F20-\\u1F45\\u1F48-\\u1F4D"
            + "\\u1F50-\\u1F57\\u1F59\\u1F5B\\u1F5D\\u1F5F-\\u1F7D\\u1F80-\\u1FB4\\u1FB6-\\u1FBC\\u1FBE\\u1FC2-\\u1FC4"
            + "\\u1FC6-\\u1FCC\\u1FD0-\\u1FD3\\u1FD6-\\u1FDB\\u1FE0-\\u1FEC\\u1FF2-\\u1FF4\\u1FF6-\\u1FFC\\u2102\\u2107"
            + "\\u210A-\\u2113\\u2115\\u2119-\\u211D\\u2124\\u2126\\u2128\\u212A-\\u212D\\u212F-\\u2134\\u2139"
            + "\\u213C-\\u213F\\u2145-\\u2149\\u214E\\u2183\\u2184\\u2C00-\\u2C7B\\u2C7E-\\u2CE4\\u2CEB-\\u2CEE"
            + "\\u2CF2\\u2CF3\\uA640-\\uA66D\\uA680-\\uA69B\\uA722-\\uA76F\\uA771-\\uA787\\uA78B-\\uA78E\\uAB70-\\uABBF"
            + "\\uFB00-\\uFB06\\uFB13-\\uFB17\\uFF21-\\uFF3A\\uFF41-\\uFF5A\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}"
            + "\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+";
    // ASCII punctuation and symbols, their fullwidth forms, curly quotes, 　、。
    private static final String DEEPSEEK_PUNCT = "\\s?[!-/:-~\\uFF01-\\uFF0F\\uFF1A-\\uFF5E\\u2018-\\u201F\\u3000-\\u3002]+";
    // Anything up to a space or one of . , ! ? … 。 ， 、 । ۔ ، (and the parentheses and '|' of the class)
    private static final String PORO = " ?[^(\\s|.,!?\\u2026\\u3002\\uFF0C\\u3001\\u0964\\u06D4\\u060C)]+";

    private static final String[] DEFAULT_RULES = {"[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2, "\\p{N}+", "[0-9][0-9][0-9]"};

    /** How llama.cpp configures a vocabulary for one pre-tokenizer name. */
    private record Spec(String[] regexes, boolean ignoreMerges, boolean addBos, boolean cleanSpaces, boolean hasBos) {
        static Spec of(String... regexes) {
            return new Spec(regexes, false, false, true, true);
        }

        Spec keepSpaces() {
            return new Spec(regexes, ignoreMerges, addBos, false, hasBos);
        }

        Spec wholeWords() {
            return new Spec(regexes, true, addBos, cleanSpaces, hasBos);
        }

        Spec withBos() {
            return new Spec(regexes, ignoreMerges, true, cleanSpaces, hasBos);
        }

        Spec noBos() {
            return new Spec(regexes, ignoreMerges, addBos, cleanSpaces, false);
        }
    }

    private static Spec spec(String pre) {
        return switch (pre) {
            case "default" -> Spec.of(DEFAULT_RULES);
            case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano" ->
                    Spec.of(LLAMA3).wholeWords().withBos();
            case "dbrx", "smaug-bpe" -> Spec.of(LLAMA3);
            case "deepseek-llm" -> Spec.of("[\r\n]", DEEPSEEK_LETTERS, DEEPSEEK_PUNCT, "\\s+$", CJK, "\\p{N}+").keepSpaces();
            case "deepseek-coder" -> Spec.of("[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", CJK, "\\p{N}").keepSpaces();
            case "deepseek-v3" -> Spec.of("\\p{N}{1,3}", "[\\u4E00-\\u9FA5\\u3040-\\u309F\\u30A0-\\u30FF]+",
                    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
                            + "| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+").keepSpaces();
            case "falcon" -> Spec.of("[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2, "[0-9][0-9][0-9]");
            case "starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2" -> Spec.of("\\p{N}", GPT2);
            case "command-r", "smollm" -> Spec.of("\\p{N}", GPT2).keepSpaces();
            case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
                 "modern-bert", "jina-v1-en", "jina-v2-code", "roberta-bpe", "exaone4", "mpt", "olmo", "jais" -> Spec.of(GPT2);
            case "trillion", "granite-docling" -> Spec.of(GPT2).keepSpaces();
            case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open" -> Spec.of(QWEN2).keepSpaces();
            case "stablelm2", "megrez" -> Spec.of(QWEN2);
            case "grok-2" -> Spec.of(QWEN2).keepSpaces();
            case "seed-coder" -> Spec.of(SEED_CODER).keepSpaces();
            case "bailingmoe", "bailingmoe2", "llada-moe" -> Spec.of(BAILINGMOE).keepSpaces();
            case "poro-chat" -> Spec.of(PORO).keepSpaces();
            case "bloom", "gpt3-finnish" -> Spec.of(PORO);
            case "glm4", "chatglm-bpe" -> Spec.of(LLAMA3).noBos();
            case "tekken" -> Spec.of(TEKKEN).keepSpaces().wholeWords().withBos();
            case "gpt-4o", "llama4", "kanana2", "talkie" -> Spec.of(GPT4O).keepSpaces();
            case "chameleon" -> Spec.of("<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )",
                    "\\p{N}", "[\\p{P}!-/:-@\\[-`{-~]", GPT2).keepSpaces().withBos();
            default -> throw new GGUFFormatException("unknown pre-tokenizer type '" + pre + "' (tokenizer.ggml.pre)");
        };
    }

    private final Rule[] rules;
    private final Spec spec;

    private PreTokenizer(Spec spec) {
        this.spec = spec;
        this.rules = new Rule[spec.regexes.length];
        for (int i = 0; i < rules.length; i++) rules[i] = Rule.compile(spec.regexes[i]);
    }

    /** The pre-tokenizer for a {@code tokenizer.ggml.pre} value; llama.cpp uses "default" when it is absent. */
    static PreTokenizer forName(String pre) {
        return new PreTokenizer(spec(pre == null || pre.isEmpty() ? "default" : pre));
    }

    /** Whether a word that is itself a token skips the merges (llama.cpp's ignore_merges). */
    boolean ignoreMerges() { return spec.ignoreMerges; }

    /** The add_bos default when the metadata does not say. */
    boolean addBosByDefault() { return spec.addBos; }

    /** Whether detokenizing removes the spaces before punctuation (llama.cpp's clean_spaces). */
    boolean cleanSpaces() { return spec.cleanSpaces; }

    /** False where llama.cpp drops the BOS token for this pre-tokenizer. */
    boolean hasBos() { return spec.hasBos; }

    /** The words of a text, in order; together they are the whole text. */
    List<String> split(String text) {
        int[] cps = text.codePoints().toArray();
        Subject collapsed = null, folded = null;
        List<int[]> pieces = new ArrayList<>();
        pieces.add(new int[] {0, cps.length});
        for (Rule rule : rules) {
            Subject subject;
            if (rule.collapsed) subject = collapsed != null ? collapsed : (collapsed = Subject.collapsed(cps));
            else subject = folded != null ? folded : (folded = Subject.folded(cps));
            pieces = rule.split(subject, pieces);
        }
        List<String> words = new ArrayList<>(pieces.size());
        for (int[] p : pieces) words.add(new String(cps, p[0], p[1] - p[0]));
        return words;
    }

    /** The text one regex sees, with a map from its char indices to code point indices. */
    private record Subject(String text, int[] cpToChar, int[] charToCp) {

        static Subject collapsed(int[] cps) {
            char[] chars = new char[cps.length];
            for (int i = 0; i < cps.length; i++) chars[i] = CollapsedRegex.collapse(cps[i]);
            return new Subject(new String(chars), null, null);
        }

        static Subject folded(int[] cps) {
            StringBuilder sb = new StringBuilder(cps.length);
            int[] cpToChar = new int[cps.length + 1];
            for (int i = 0; i < cps.length; i++) {
                cpToChar[i] = sb.length();
                int cp = cps[i];
                sb.appendCodePoint(cp > 0x7F && CollapsedRegex.isWhitespace(cp) ? 0x0B : cp);
            }
            cpToChar[cps.length] = sb.length();
            int[] charToCp = new int[sb.length() + 1];
            for (int i = 0; i <= cps.length; i++) charToCp[cpToChar[i]] = i;
            return new Subject(sb.toString(), cpToChar, charToCp);
        }

        int charIndex(int cp) { return cpToChar == null ? cp : cpToChar[cp]; }

        int cpIndex(int ch) { return charToCp == null ? ch : charToCp[ch]; }
    }

    private record Rule(Pattern pattern, boolean collapsed) {

        static Rule compile(String regex) {
            boolean collapsed = CollapsedRegex.usesCategories(regex);
            return new Rule(Pattern.compile(CollapsedRegex.toJava(regex, collapsed)), collapsed);
        }

        /** Splits each piece into the matches and the unmatched text between them. */
        List<int[]> split(Subject subject, List<int[]> pieces) {
            List<int[]> out = new ArrayList<>(pieces.size() * 2);
            Matcher m = pattern.matcher(subject.text);
            for (int[] piece : pieces) {
                // A region keeps lookaheads and anchors inside the piece, as std::regex_iterator does.
                m.region(subject.charIndex(piece[0]), subject.charIndex(piece[1]));
                int last = piece[0];
                while (m.find()) {
                    int start = subject.cpIndex(m.start()), end = subject.cpIndex(m.end());
                    if (start > last) out.add(new int[] {last, start});
                    if (end > start) out.add(new int[] {start, end});
                    last = end;
                }
                if (last < piece[1]) out.add(new int[] {last, piece[1]});
            }
            return out;
        }
    }
}
