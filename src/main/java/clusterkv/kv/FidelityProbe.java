package clusterkv.kv;

import java.util.Arrays;

/**
 * Computes, for one query head at one decode step, exact attention over every cached slot and
 * compares the policy's selection and output with it (for {@link KVStats}). Costs a full
 * attention pass, so it only runs when statistics are asked for.
 */
final class FidelityProbe {

    private float[] scores = new float[0], keys = new float[0], values = new float[0];
    private boolean[] chosen = new boolean[0];
    private int[] slots = new int[0];

    /** Adds head h's figures to stats; {@code sparseOut} is the policy's attention output for the head. */
    void measure(LayerKV kv, int kvHead, float[] q, int qOff, int length, Selection sel, int budget,
                 float[] sparseOut, int outOff, KVStats stats) {
        int d = kv.headDim();
        ensure(length, d);
        kv.readKeys(kvHead, 0, length, keys, 0);
        kv.readValues(kvHead, 0, length, values, 0);
        float scale = (float) (1 / Math.sqrt(d));
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < length; j++) {
            double s = 0;
            for (int i = 0; i < d; i++) s += q[qOff + i] * keys[j * d + i];
            scores[j] = (float) (s * scale);
            max = Math.max(max, scores[j]);
        }
        double sum = 0;
        for (int j = 0; j < length; j++) sum += Math.exp(scores[j] - max);
        Arrays.fill(chosen, 0, length, false);
        sel.slots(slots);
        for (int i = 0; i < sel.tokens(); i++) chosen[slots[i]] = true;
        double massSelected = 0;
        double[] full = new double[d];
        for (int j = 0; j < length; j++) {
            double p = Math.exp(scores[j] - max) / sum;
            if (chosen[j]) massSelected += p;
            for (int i = 0; i < d; i++) full[i] += p * values[j * d + i];
        }
        double num = 0, den = 0;
        for (int i = 0; i < d; i++) {
            double diff = sparseOut[outOff + i] - full[i];
            num += diff * diff;
            den += full[i] * full[i];
        }
        int k = Math.min(budget, length);
        stats.add(kv.layer, topKRecall(length, k), massSelected, den == 0 ? 0 : Math.sqrt(num / den), sel.tokens());
    }

    /** Fraction of the k highest-scoring slots that the selection contains. */
    private double topKRecall(int length, int k) {
        float threshold = kthLargest(length, k);
        int above = 0, hit = 0, tiesNeeded;
        for (int j = 0; j < length; j++) {
            if (scores[j] > threshold) {
                above++;
                if (chosen[j]) hit++;
            }
        }
        // slots tied at the threshold fill the rest of the top k; count the chosen ones first
        tiesNeeded = k - above;
        for (int j = 0; j < length && tiesNeeded > 0; j++) {
            if (scores[j] == threshold && chosen[j]) { hit++; tiesNeeded--; }
        }
        return hit / (double) k;
    }

    private float kthLargest(int length, int k) {
        float[] copy = Arrays.copyOf(scores, length);
        Arrays.sort(copy);
        return copy[length - k];
    }

    private void ensure(int length, int d) {
        if (scores.length < length) {
            scores = new float[length];
            chosen = new boolean[length];
            slots = new int[length];
            keys = new float[length * d];
            values = new float[length * d];
        }
    }
}
