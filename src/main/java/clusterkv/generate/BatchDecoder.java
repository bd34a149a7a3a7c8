package clusterkv.generate;

import clusterkv.kv.AttentionBackend;
import clusterkv.model.ForwardBuffers;
import clusterkv.model.ModelConfig;

import java.util.Arrays;
import java.util.List;

/**
 * Feeds one token to each of several sessions of the same model in one forward pass, a batched decode step:
 * the weights are read once for all of them (decode is bound by reading the weights, so n sequences cost far
 * less than n steps), while each session attends over its own KV cache with its own policy. Each session ends
 * as if it had been fed its token alone (up to a vector's floats of sessions for the types with a decode layout: 16
 * with AVX-512, 8 with AVX2, 4 with 128-bit vectors; 4 for the others;
 * the same floats once the JIT has compiled the kernels; beyond, the projections are a GEMM that sums in
 * another order), so sessions can join and leave between steps. With --kv-stats, each session's full-attention
 * twin is still fed on its own. Reuse one decoder across steps (it holds the activation buffers);
 * not thread-safe, and like every forward pass, not to be run from two threads at once.
 */
public final class BatchDecoder {

    private final LanguageModel lm;
    private final int capacity;
    private final ForwardBuffers buffers;
    private final float[] logits;
    private final int[] positions;
    private final AttentionBackend[] attention;

    /** A decoder for up to {@code capacity} sessions of {@code lm} per step. */
    public BatchDecoder(LanguageModel lm, int capacity) {
        if (capacity < 1) throw new IllegalArgumentException("capacity must be >= 1, got " + capacity);
        ModelConfig c = lm.config();
        this.lm = lm;
        this.capacity = capacity;
        this.buffers = new ForwardBuffers(c, capacity);
        this.logits = new float[capacity * c.vocabSize()];
        this.positions = new int[capacity];
        this.attention = new AttentionBackend[capacity];
    }

    public int capacity() {
        return capacity;
    }

    /**
     * Feeds tokens[i] to sessions.get(i) at its end, for every i, in one forward pass; afterwards each session's
     * {@link Session#logits()} predict its next token. Checks everything first, so that a failed check changes
     * no session: distinct sessions of this decoder's model, each with room for one more token.
     */
    public void feed(List<Session> sessions, int[] tokens) {
        int n = sessions.size();
        check(sessions, tokens);
        if (n == 1) { // the plain decode step: nothing to batch
            sessions.getFirst().feed(tokens[0]);
            return;
        }
        for (int i = 0; i < n; i++) {
            Session s = sessions.get(i);
            attention[i] = s.attention();
            positions[i] = s.length();
        }
        lm.transformer().forwardBatch(buffers, attention, tokens, positions, n, logits);
        int vocab = lm.config().vocabSize();
        for (int i = 0; i < n; i++) sessions.get(i).fed(tokens[i], logits, i * vocab);
        Arrays.fill(attention, 0, n, null); // holds no closed session's cache past the step
    }

    private void check(List<Session> sessions, int[] tokens) {
        int n = sessions.size();
        if (n == 0 || n > capacity) throw new IllegalArgumentException(n + " sessions for a batch of 1 to " + capacity);
        if (tokens.length < n) throw new IllegalArgumentException(tokens.length + " tokens for " + n + " sessions");
        int vocab = lm.config().vocabSize();
        for (int i = 0; i < n; i++) {
            Session s = sessions.get(i);
            if (s.model() != lm) throw new IllegalArgumentException("session " + i + " belongs to another model");
            if (s.length() >= s.contextSize()) throw new ContextOverflowException(s.length(), 1, s.contextSize());
            if (tokens[i] < 0 || tokens[i] >= vocab) throw new IllegalArgumentException("token " + tokens[i] + " is outside the vocabulary of " + vocab);
            for (int j = 0; j < i; j++) {
                if (sessions.get(j) == s) throw new IllegalArgumentException("session " + i + " appears twice in the batch");
            }
        }
    }
}
