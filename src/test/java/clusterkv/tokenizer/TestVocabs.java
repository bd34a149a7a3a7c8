package clusterkv.tokenizer;

import clusterkv.gguf.GGUFFile;
import clusterkv.gguf.GGUFMetadata;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;


/** Shared test data: the vocabularies under src/test/data, loaded once, and small made-up ones. */
final class TestVocabs {

    private static final Map<Path, Tokenizer> LOADED = new ConcurrentHashMap<>();

    private TestVocabs() {}

    /** One of llama.cpp's vocabulary-only files, {@code ggml-vocab-NAME.gguf}. */
    static Tokenizer load(String name) throws IOException {
        return loadFile(Path.of("src/test/data/tokenizers/ggml-vocab-" + name + ".gguf"));
    }

    /** The 512-token SentencePiece vocabulary of stories260K, with byte fallback. */
    static Tokenizer stories() throws IOException {
        return loadFile(Path.of("src/test/data/models/stories260K.gguf"));
    }

    private static Tokenizer loadFile(Path path) throws IOException {
        Tokenizer cached = LOADED.get(path);
        if (cached != null) return cached;
        try (GGUFFile f = GGUFFile.open(path)) {
            Tokenizer tok = Tokenizer.fromMetadata(f.metadata());
            LOADED.put(path, tok);
            return tok;
        }
    }

    /** Metadata of a made-up vocabulary: token texts with scores and types (1 normal, 3 control, 6 byte...). */
    static GGUFMetadata metadata(String model, String[] tokens, float[] scores, int[] types) {
        GGUFMetadata md = new GGUFMetadata();
        md.putString("tokenizer.ggml.model", model);
        md.putStrings("tokenizer.ggml.tokens", tokens);
        if (scores != null) md.putFloats("tokenizer.ggml.scores", scores);
        if (types != null) md.putInts("tokenizer.ggml.token_type", types);
        return md;
    }
}
