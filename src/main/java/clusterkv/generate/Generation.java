package clusterkv.generate;

import clusterkv.tokenizer.StreamingDecoder;
import clusterkv.tokenizer.Tokenizer;

/**
 * One generation in progress on a {@link Session}, advanced a token at a time: each {@link #step()}
 * samples a token, feeds it to the model and returns the text it releases (or, in two halves around a batched
 * feed of several sessions, {@link #chooseNext()} and {@link #acceptFed()}). The text is UTF-8 safe
 * (bytes of an unfinished character are held back) and stop strings never appear in it (text that
 * could still become one is held back until it cannot). Callers that interleave several sessions,
 * such as the server's scheduler, drive it step by step; {@link Session#generate} runs it to the end.
 * Not thread-safe.
 */
public final class Generation {

    private final Session session;
    private final Tokenizer tokenizer;
    private final int maxTokens;
    private final Sampler sampler;
    private final StreamingDecoder decoder;
    private final StopStringFilter filter;
    /** What the output must be, or null. */
    private final OutputConstraint.Constraint constraint;
    /** What the current step released: the filter writes into it. */
    private final StringBuilder released = new StringBuilder();
    private final float[] scratch;
    /** The token chooseNext() returned, until acceptFed(); -1 when none. */
    private int chosen = -1;
    private int generated;
    private StopReason stopReason;

    Generation(Session session, Tokenizer tokenizer, GenerationOptions options) {
        this.session = session;
        this.tokenizer = tokenizer;
        this.maxTokens = options.maxTokens();
        this.sampler = new Sampler(options.sampling());
        this.decoder = new StreamingDecoder(tokenizer);
        this.filter = new StopStringFilter(options.stops(), released::append);
        this.scratch = new float[session.logits().length];
        this.constraint = options.constraint() == null ? null : options.constraint().start(tokenizer);
    }

    /**
     * Generates one token, unless generation is over (then it only ends it), and returns the text this step
     * released, possibly empty. Once {@link #finished()}, the text is complete and further steps are an error.
     */
    public String step() {
        int next = chooseNext();
        if (next < 0) return released();
        session.feed(next);
        return acceptFed();
    }

    /**
     * The first half of a step, for callers that feed several sessions in one batch ({@link BatchDecoder}): samples
     * the token to feed next and returns it, or, when no further token may come, ends the generation and returns
     * -1 (then {@link #released()} is the text that releases). A chosen token must be fed to the session, and then
     * {@link #acceptFed()} called, before anything else is done with this generation.
     */
    public int chooseNext() {
        if (stopReason != null) throw new IllegalStateException("generation already finished: " + stopReason);
        if (chosen >= 0) throw new IllegalStateException("token " + chosen + " was chosen and not accepted yet");
        released.setLength(0);
        if (generated >= maxTokens) {
            finish(StopReason.MAX_TOKENS);
        } else if (session.length() >= session.contextSize()) {
            finish(StopReason.CONTEXT_FULL);
        } else {
            int tokensLeft = Math.min(maxTokens - generated, session.contextSize() - session.length());
            int next = session.sampleNext(sampler, scratch, constraint, tokensLeft);
            if (!tokenizer.isEndOfGeneration(next)) return chosen = next;
            finish(StopReason.END_OF_TEXT);
        }
        return -1;
    }

    /**
     * The second half of a step: the token {@link #chooseNext()} chose has been fed to the session; counts it and
     * returns the text it releases (with the rest of the text, when it was the last token), possibly empty.
     */
    public String acceptFed() {
        if (chosen < 0) throw new IllegalStateException("no token was chosen");
        int token = chosen;
        chosen = -1;
        sampler.accept(token);
        if (constraint != null) constraint.accept(token);
        generated++;
        if (filter.accept(decoder.accept(token))) stopReason = StopReason.STOP_STRING; // nothing after a stop string
        else if (constraint != null && constraint.finished()) finish(StopReason.END_OF_TEXT); // only an end token could follow
        // end at once when no further token may come, so the last text and the end arrive together
        else if (generated >= maxTokens) finish(StopReason.MAX_TOKENS);
        else if (session.length() >= session.contextSize()) finish(StopReason.CONTEXT_FULL);
        return released();
    }

    /** The text released by the latest {@link #chooseNext()} (when it ended the generation) or {@link #acceptFed()}. */
    public String released() {
        return released.toString();
    }

    /** Releases everything held back: the unfinished bytes of a character (as U+FFFD) and a possible stop-string prefix. */
    private void finish(StopReason reason) {
        filter.accept(decoder.flush());
        filter.flush();
        stopReason = reason;
    }

    public boolean finished() {
        return stopReason != null;
    }

    /** Why generation ended; null while it goes on. */
    public StopReason stopReason() {
        return stopReason;
    }

    /** Tokens generated and fed so far (an end-of-generation token is not counted: it is never fed). */
    public int generatedTokens() {
        return generated;
    }

    /** All text released so far. */
    public String text() {
        return filter.emittedText();
    }
}
