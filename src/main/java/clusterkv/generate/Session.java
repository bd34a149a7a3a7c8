package clusterkv.generate;

import clusterkv.kv.AttentionBackend;
import clusterkv.kv.FullAttention;
import clusterkv.kv.KVCache;
import clusterkv.kv.KVPolicy;
import clusterkv.kv.KVStats;
import clusterkv.kv.PolicyAttention;
import clusterkv.kv.policy.KVPolicies;
import clusterkv.model.ForwardBuffers;
import clusterkv.model.ModelConfig;
import clusterkv.model.Transformer;
import clusterkv.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * One conversation with a model: its KV cache and the tokens it holds. Prompts are appended
 * (prefilled in chunks), generation continues from the end, and the cache is kept across calls,
 * so a multi-turn chat only processes each new turn. Closing frees the off-heap KV cache.
 */
public final class Session implements AutoCloseable {

    private final LanguageModel lm;
    private final SessionOptions options;
    private final Transformer transformer;
    private final AttentionBackend attention;
    private final ForwardBuffers buffers;
    private final int contextSize;
    private final int chunk;
    private final float[] logits;
    private final int[] tokens;
    private int length;
    /** With --kv-stats: a full-attention twin fed the same tokens, for the KL of each decode step. */
    private Session reference;
    private KVStats stats;
    private Map<String, String> notes = Map.of();

    /** Makes the session's KV cache once the spare slots its policy wants are known. */
    @FunctionalInterface
    interface CacheMaker {
        KVCache make(int spareSlots);
    }

    Session(LanguageModel lm, SessionOptions options) {
        this(lm, options, null);
    }

    /** A session whose cache comes from {@code maker} (a session file's mapping), or is allocated when it is null. */
    Session(LanguageModel lm, SessionOptions options, CacheMaker maker) {
        this.lm = lm;
        this.options = options;
        this.transformer = lm.transformer();
        ModelConfig c = lm.config();
        int modelContext = c.contextLength();
        this.contextSize = options.contextSize() == 0 ? modelContext : options.contextSize();
        if (contextSize > modelContext) {
            throw new IllegalArgumentException("context size " + contextSize + " exceeds the model's context of " + modelContext);
        }
        this.chunk = Math.min(options.prefillChunk(), contextSize);
        KVPolicy policy = KVPolicies.create(options.kvPolicy(), options.policyConfig()); // validates before allocating
        int spare = options.sparse() ? policy.spareSlots(c.heads(), c.kvHeads(), contextSize) : 0;
        options.kvFormat().check(c.headDim());
        KVCache cache;
        if (maker == null) {
            if (options.kvFile() == null) MemoryFit.checkCache(c, options.kvFormat(), contextSize, contextSize + spare); // a file may outgrow memory
            cache = new KVCache(c.layers(), c.kvHeads(), c.headDim(), contextSize, options.kvFormat(), spare, options.kvFile());
        } else {
            cache = maker.make(spare);
        }
        this.attention = options.sparse() ? new PolicyAttention(cache, c.heads(), policy) : new FullAttention(cache, c.heads());
        this.buffers = new ForwardBuffers(c, chunk);
        this.logits = new float[c.vocabSize()];
        this.tokens = new int[contextSize];
    }

    public int contextSize() { return contextSize; }
    public SessionOptions options() { return options; }
    /** What the session file it was opened from carried besides the session (a chat's messages); empty otherwise. */
    public Map<String, String> notes() { return notes; }

    /**
     * Saves the session to one file (its tokens, KV cache and policy state), atomically: a temporary file is
     * written, then renamed over {@code path}. Reopen it with {@link LanguageModel#openSession}.
     */
    public void save(Path path) throws IOException {
        save(path, Map.of());
    }

    /** As {@link #save(Path)}, with notes (short strings the caller gets back from {@link #notes()} on reopening). */
    public void save(Path path, Map<String, String> notes) throws IOException {
        if (reference != null) throw new IllegalStateException("a session that measures its fidelity cannot be saved");
        SessionFile.save(this, path, notes);
    }

    /** Takes the saved state back (the cache already holds the saved keys and values). */
    void restore(int[] savedTokens, int savedLength, float[] savedLogits, clusterkv.kv.PolicyState state, Map<String, String> savedNotes) {
        if (savedLogits.length != logits.length) throw new IllegalStateException(savedLogits.length + " saved logits for a vocabulary of " + logits.length);
        for (int t : savedTokens) if (t < 0 || t >= logits.length) throw new IllegalStateException("token id " + t + " outside the vocabulary");
        System.arraycopy(savedTokens, 0, tokens, 0, savedLength);
        System.arraycopy(savedLogits, 0, logits, 0, logits.length);
        length = savedLength;
        attention.restoreState(state);
        notes = Map.copyOf(savedNotes);
    }
    /** The attention backend (KV cache and policy), for statistics. */
    public AttentionBackend attention() { return attention; }
    /** Tokens currently in the cache. */
    public int length() { return length; }
    public int[] tokens() { return Arrays.copyOf(tokens, length); }
    /** Logits after the last token fed (valid once something was fed). */
    public float[] logits() { return logits; }

    /**
     * Measures the policy's fidelity from now on: selection statistics per layer against exact attention, and
     * the KL divergence of every decode step's next-token distribution from a full-attention twin session fed
     * the same tokens (which doubles the cost). Only for sparse policies; the session must be empty.
     */
    public void trackFidelity(KVStats stats) {
        if (!(attention instanceof PolicyAttention pa)) throw new IllegalStateException("fidelity needs a sparse KV policy");
        if (length != 0) throw new IllegalStateException("start tracking fidelity on an empty session");
        pa.collectStats(stats);
        this.stats = stats;
        this.reference = lm.newSession(options.withPolicy("full", options.policyConfig()));
    }

    /**
     * Starts the session at {@code length} positions of generated keys and values instead of a prefilled
     * prompt (decode benchmarks at long contexts); the token history is filled with BOS-like zeros.
     */
    public void fillSynthetic(int length, long seed) {
        if (length >= contextSize) throw new ContextOverflowException(0, length, contextSize);
        truncate(0);
        attention.fillSynthetic(length, seed);
        java.util.Arrays.fill(tokens, 0, length, 0);
        this.length = length;
    }

    /**
     * Keeps the longest prefix of the session that {@code ids} start with and returns the ids still to append (a
     * prompt cache, the next chat turn). When ids are all kept but the session held more, their last token is
     * handed back to be fed again, since the logits after it are gone.
     */
    public int[] reuse(int[] ids) {
        int keep = 0, n = Math.min(length, ids.length);
        while (keep < n && tokens[keep] == ids[keep]) keep++;
        if (keep == ids.length && keep < length && keep > 0) keep--;
        truncate(keep);
        return Arrays.copyOfRange(ids, keep, ids.length);
    }

    /** Forgets everything from position n on. */
    public void truncate(int n) {
        if (n < 0 || n > length) throw new IllegalArgumentException("cannot truncate to " + n + " of " + length + " tokens");
        length = n;
        attention.truncate(n);
        if (reference != null) reference.truncate(n);
    }

    /**
     * Appends tokens (prefill in chunks); progress receives the count done after each chunk.
     * Fails without changing the session when they do not fit in the context.
     */
    public void append(int[] ids, IntConsumer progress) {
        append(ids, progress, null);
    }

    /** Receives the logits after each appended token: its index in the appended ids, and the logits. */
    @FunctionalInterface
    public interface LogitsRow {
        void accept(int index, float[] logits, int offset);
    }

    /** As {@link #append(int[], IntConsumer)}, also handing every token's logits to {@code rows} (for scoring). */
    public void append(int[] ids, IntConsumer progress, LogitsRow rows) {
        if (length + ids.length > contextSize) {
            throw new ContextOverflowException(length, ids.length, contextSize);
        }
        int vocab = logits.length;
        float[] all = rows == null ? null : new float[chunk * vocab];
        attention.promptEndsAt(length + ids.length);
        for (int done = 0; done < ids.length; ) {
            int n = Math.min(chunk, ids.length - done);
            System.arraycopy(ids, done, tokens, length, n);
            transformer.forward(buffers, attention, tokens, length, n, length, rows == null ? logits : all, rows != null);
            if (rows != null) {
                for (int t = 0; t < n; t++) rows.accept(done + t, all, t * vocab);
                System.arraycopy(all, (n - 1) * vocab, logits, 0, vocab);
            }
            length += n;
            done += n;
            mirror(tokens, length - n, n);
            if (progress != null) progress.accept(done);
        }
    }

    /** Feeds the twin the same tokens; after a single decoded token, records the KL of the two predictions. */
    private void mirror(int[] ids, int from, int n) {
        if (reference == null) return;
        reference.append(java.util.Arrays.copyOfRange(ids, from, from + n), null);
        if (n == 1) stats.addKl(KVStats.kl(reference.logits, logits));
    }

    /** Generates from the current end of the session, streaming text; the prompt must already be appended. */
    public GenerationResult generate(GenerationOptions options, Consumer<String> onText) {
        return generate(new int[0], options, onText, null);
    }

    /** Encodes the text (with BOS when the model wants it and the session is empty), appends it, and generates. */
    public GenerationResult generate(String prompt, GenerationOptions options, Consumer<String> onText) {
        Tokenizer tok = lm.tokenizer();
        return generate(tok.encode(prompt, length == 0, false), options, onText, null);
    }

    public GenerationResult generate(int[] prompt, GenerationOptions options, Consumer<String> onText, IntConsumer prefillProgress) {
        long t0 = System.nanoTime();
        if (prompt.length > 0) append(prompt, prefillProgress);
        long t1 = System.nanoTime();
        Generation generation = startGeneration(options);
        while (!generation.finished()) {
            String text = generation.step();
            if (!text.isEmpty()) onText.accept(text);
        }
        long t2 = System.nanoTime();
        return new GenerationResult(generation.text(), prompt.length, generation.generatedTokens(), generation.stopReason(), t1 - t0, t2 - t1);
    }

    /**
     * Starts generating from the current end of the session (the prompt must already be appended), to be
     * advanced token by token with {@link Generation#step()}; the session must not be changed meanwhile.
     */
    public Generation startGeneration(GenerationOptions options) {
        return new Generation(this, lm.tokenizer(), options);
    }

    /** Draws the next token from the current logits (left intact: the sampler works on a copy). */
    int sampleNext(Sampler sampler, float[] scratch, OutputConstraint.Constraint constraint, int tokensLeft) {
        System.arraycopy(logits, 0, scratch, 0, logits.length);
        if (constraint != null) constraint.restrict(scratch, tokensLeft);
        return sampler.sample(scratch, tokens, length);
    }

    /** Feeds one generated token: a single-token forward pass (a decode step of the KV policy). */
    void feed(int token) {
        tokens[length] = token;
        transformer.forward(buffers, attention, tokens, length, 1, length, logits, false);
        fed(token, logits, 0);
    }

    LanguageModel model() {
        return lm;
    }

    /** The token was run at position length() (by {@link #feed} or a {@link BatchDecoder}), giving these logits. */
    void fed(int token, float[] rowLogits, int offset) {
        tokens[length] = token;
        if (rowLogits != logits) System.arraycopy(rowLogits, offset, logits, 0, logits.length);
        length++;
        mirror(tokens, length - 1, 1);
    }

    @Override
    public void close() {
        if (reference != null) reference.close();
        attention.close();
    }
}
