package clusterkv.generate;

import clusterkv.model.Model;
import clusterkv.model.ModelConfig;
import clusterkv.model.Transformer;
import clusterkv.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The public entry point: a model with its tokenizer, ready to open {@link Session}s.
 *
 * <pre>{@code
 * try (LanguageModel lm = LanguageModel.load(Path.of("model.gguf"));
 *      Session session = lm.newSession(SessionOptions.defaults())) {
 *     session.generate("Once upon a time", GenerationOptions.greedy(50), System.out::print);
 * }
 * }</pre>
 */
public final class LanguageModel implements AutoCloseable {

    private final Model model;
    private final Tokenizer tokenizer;
    private final Transformer transformer;
    private String fingerprint;

    private LanguageModel(Model model, Tokenizer tokenizer) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.transformer = new Transformer(model);
    }

    public static LanguageModel load(Path path) throws IOException {
        if (java.nio.file.Files.isRegularFile(path)) MemoryFit.checkWeights(java.nio.file.Files.size(path));
        Model model = Model.load(path);
        try {
            return new LanguageModel(model, Tokenizer.fromMetadata(model.file().metadata()));
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    public Session newSession(SessionOptions options) {
        return new Session(this, options);
    }

    /**
     * Reopens a session saved by {@link Session#save}: mapped, not read, so it opens at once whatever its size. The
     * options must be those it was saved with (context size, KV format, policy and its options); a file made with
     * another model or other options, or not a session file, is refused with a {@link SessionFileException}.
     */
    public Session openSession(Path path, SessionOptions options) throws IOException {
        return SessionFile.open(this, path, options);
    }

    /** The model's identity in session files: read from the file's header once, then remembered. */
    synchronized String fingerprint() throws IOException {
        if (fingerprint == null) fingerprint = SessionFile.headerDigest(this);
        return fingerprint;
    }

    public Model model() { return model; }
    public ModelConfig config() { return model.config(); }
    public Tokenizer tokenizer() { return tokenizer; }
    Transformer transformer() { return transformer; }

    @Override
    public void close() {
        model.close();
    }
}
