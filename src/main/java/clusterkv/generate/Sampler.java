package clusterkv.generate;

import java.util.Arrays;
import java.util.Random;

/**
 * Draws the next token: repetition penalty, presence and frequency penalties, then (unless greedy)
 * top-k, top-p, min-p and temperature, in llama.cpp's default order, then a seeded random draw.
 * One sampler serves one generation: it counts the tokens generated so far ({@link #accept}) for
 * the presence and frequency penalties, which, as in OpenAI's API, look at the output only, not the prompt.
 */
public final class Sampler {

    private final SamplingParams params;
    private final Random random;
    private final TopK topK = new TopK();
    /** How often each token was generated so far; allocated on first use, only with presence/frequency penalties. */
    private int[] generatedCounts;

    public Sampler(SamplingParams params) {
        this.params = params;
        this.random = params.seed() < 0 ? new Random() : new Random(params.seed());
    }

    /** Picks a token from logits (modified in place by the penalty); history holds the tokens so far. */
    public int sample(float[] logits, int[] history, int historyLength) {
        applyRepeatPenalty(logits, history, historyLength);
        if (generatedCounts != null) applyPresenceFrequency(logits, generatedCounts, params.presencePenalty(), params.frequencyPenalty());
        if (params.greedy()) return argmax(logits);
        int[] order = topK.indicesDescending(logits, params.topK() > 0 ? params.topK() : logits.length);
        int keep = order.length;
        // probabilities of the kept candidates at temperature 1, for top-p and min-p
        double[] p = softmax(logits, order, keep, 1f);
        double cumulative = 0;
        int topPKeep = keep;
        for (int i = 0; i < keep; i++) {
            cumulative += p[i];
            if (cumulative >= params.topP()) { topPKeep = i + 1; break; }
        }
        keep = topPKeep;
        double floor = params.minP() * p[0];
        int minPKeep = 1;
        while (minPKeep < keep && p[minPKeep] >= floor) minPKeep++;
        keep = minPKeep;
        double[] q = softmax(logits, order, keep, params.temperature());
        double r = random.nextDouble();
        int last = 0; // rounding can leave r above 0 at the end: then the last candidate that had a chance, never a masked one
        for (int i = 0; i < keep; i++) {
            if (q[i] == 0) continue;
            last = i;
            r -= q[i];
            if (r <= 0) return order[i];
        }
        return order[last];
    }

    /** Records a token that was generated (and kept), for the presence and frequency penalties. */
    public void accept(int token) {
        if (!params.penalisesGenerated()) return;
        if (generatedCounts == null) generatedCounts = new int[Math.max(token + 1, 256)];
        if (token >= generatedCounts.length) generatedCounts = Arrays.copyOf(generatedCounts, Math.max(token + 1, 2 * generatedCounts.length));
        generatedCounts[token]++;
    }

    /** OpenAI's definition: logit[j] -= count[j] * frequency + (count[j] > 0 ? presence : 0). */
    static void applyPresenceFrequency(float[] logits, int[] counts, float presence, float frequency) {
        for (int t = 0, n = Math.min(logits.length, counts.length); t < n; t++) {
            if (counts[t] > 0) logits[t] -= counts[t] * frequency + presence;
        }
    }

    private void applyRepeatPenalty(float[] logits, int[] history, int historyLength) {
        float penalty = params.repeatPenalty();
        if (penalty == 1f || history == null) return;
        boolean[] seen = new boolean[logits.length];
        for (int i = Math.max(0, historyLength - params.repeatLastN()); i < historyLength; i++) {
            int t = history[i];
            if (t < 0 || t >= logits.length || seen[t]) continue;
            seen[t] = true;
            logits[t] = logits[t] > 0 ? logits[t] / penalty : logits[t] * penalty;
        }
    }

    private static double[] softmax(float[] logits, int[] order, int count, float temperature) {
        double[] p = new double[count];
        double max = logits[order[0]];
        double sum = 0;
        for (int i = 0; i < count; i++) {
            p[i] = Math.exp((logits[order[i]] - max) / temperature);
            sum += p[i];
        }
        for (int i = 0; i < count; i++) p[i] /= sum;
        return p;
    }

    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }
}
