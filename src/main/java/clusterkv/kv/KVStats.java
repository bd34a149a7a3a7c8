package clusterkv.kv;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fidelity of a policy's selection against exact attention computed alongside, per layer:
 * recall of the true top-k keys (k = budget), attention mass captured by the selected set, and
 * relative L2 error of the attention output; plus the KL divergence of the next-token
 * distribution from full attention (fed by the caller, which runs the full model alongside) and
 * the cluster cache hit rate. Averages are over query heads and decode steps.
 */
public final class KVStats {

    /** Layers below this are left out of the headline averages (ClusterKV's dense layers). */
    public static final int FIRST_AVERAGED_LAYER = 2;

    private final double[] recall, mass, error;
    /** Per layer: tokens the selections attended, summed over the samples (heads x steps). */
    private final long[] attended;
    private final long[] samples;
    private final long[] hits, selected;
    private double klSum;
    private long klCount;

    public KVStats(int layers) {
        recall = new double[layers];
        mass = new double[layers];
        error = new double[layers];
        attended = new long[layers];
        samples = new long[layers];
        hits = new long[layers];
        selected = new long[layers];
    }

    synchronized void add(int layer, double topkRecall, double massRecall, double relError, int attendedTokens) {
        attended[layer] += attendedTokens;
        recall[layer] += topkRecall;
        mass[layer] += massRecall;
        error[layer] += relError;
        samples[layer]++;
    }

    synchronized void setCacheHits(int layer, long hitCount, long selectedCount) {
        hits[layer] = hitCount;
        selected[layer] = selectedCount;
    }

    public synchronized void addKl(double kl) {
        klSum += kl;
        klCount++;
    }

    /** KL(p || q) of two logit vectors' softmax distributions, in nats. */
    public static double kl(float[] p, float[] q) {
        double pMax = Double.NEGATIVE_INFINITY, qMax = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < p.length; i++) {
            pMax = Math.max(pMax, p[i]);
            qMax = Math.max(qMax, q[i]);
        }
        double pSum = 0, qSum = 0;
        for (int i = 0; i < p.length; i++) {
            pSum += Math.exp(p[i] - pMax);
            qSum += Math.exp(q[i] - qMax);
        }
        double logP0 = pMax + Math.log(pSum), logQ0 = qMax + Math.log(qSum), kl = 0;
        for (int i = 0; i < p.length; i++) {
            double lp = p[i] - logP0;
            kl += Math.exp(lp) * (lp - (q[i] - logQ0));
        }
        return Math.max(kl, 0);
    }

    /** Per-layer figures and averages over layers >= 2, as JSON-ready maps. */
    public synchronized Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        double r = 0, ms = 0, e = 0;
        long n = 0, h = 0, s = 0, a = 0;
        List<Map<String, Object>> perLayer = new ArrayList<>();
        for (int l = 0; l < samples.length; l++) {
            if (samples[l] == 0) continue;
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("layer", l);
            row.put("topk_recall", recall[l] / samples[l]);
            row.put("attention_mass_recall", mass[l] / samples[l]);
            row.put("output_rel_error", error[l] / samples[l]);
            row.put("cache_hit_rate", selected[l] == 0 ? null : hits[l] / (double) selected[l]);
            row.put("attended_tokens", attended[l] / (double) samples[l]);
            perLayer.add(row);
            if (l >= FIRST_AVERAGED_LAYER) {
                r += recall[l];
                ms += mass[l];
                e += error[l];
                n += samples[l];
                h += hits[l];
                s += selected[l];
                a += attended[l];
            }
        }
        m.put("topk_recall", n == 0 ? null : r / n);
        m.put("attention_mass_recall", n == 0 ? null : ms / n);
        m.put("output_rel_error", n == 0 ? null : e / n);
        m.put("kl", klCount == 0 ? null : klSum / klCount);
        m.put("cache_hit_rate", s == 0 ? null : h / (double) s);
        m.put("attended_tokens", n == 0 ? null : a / (double) n);
        m.put("per_layer", perLayer);
        return m;
    }
}
