package clusterkv.kv;

/** Softmax attention in float64, written for the tests: the reference the vectorized kernels are held to. */
final class AttentionReference {

    private AttentionReference() {}

    /**
     * softmax(q . k_j / sqrt(d)) . v_j over the given slots, for the query q[qOff..qOff+d) and KV head
     * kvHead of k and v ([slot][kvHeads * d]).
     */
    static double[] attend(float[] q, int qOff, float[][] k, float[][] v, int kvHead, int d, int[] slots) {
        double[] scores = new double[slots.length];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < slots.length; j++) {
            double s = 0;
            for (int i = 0; i < d; i++) s += (double) q[qOff + i] * k[slots[j]][kvHead * d + i];
            scores[j] = s / Math.sqrt(d);
            max = Math.max(max, scores[j]);
        }
        double sum = 0;
        double[] out = new double[d];
        for (int j = 0; j < slots.length; j++) {
            double w = Math.exp(scores[j] - max);
            sum += w;
            for (int i = 0; i < d; i++) out[i] += w * v[slots[j]][kvHead * d + i];
        }
        for (int i = 0; i < d; i++) out[i] /= sum;
        return out;
    }
}
