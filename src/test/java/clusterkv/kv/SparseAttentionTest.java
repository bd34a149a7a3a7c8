package clusterkv.kv;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Each head over its own selection, read once per group (attendEach), against float64 attention over the same slots. */
class SparseAttentionTest {

    private static final int D = 64, GROUP = 4, SLOTS = 3000;

    @Test
    void eachHeadAttendsExactlyItsOwnSelectionAndSharedSlotsAreReadOnce() {
        SplittableRandom rnd = new SplittableRandom(4);
        try (KVCache cache = new KVCache(1, 2, D, SLOTS, KVType.F32)) {
            float[][] k = new float[SLOTS][2 * D], v = new float[SLOTS][2 * D];
            for (int p = 0; p < SLOTS; p++) {
                for (int i = 0; i < 2 * D; i++) {
                    k[p][i] = (float) rnd.nextGaussian();
                    v[p][i] = (float) rnd.nextGaussian();
                }
                cache.store(0, p, k[p], 0, v[p], 0);
            }
            LayerKV kv = new LayerKV(cache, 0);
            for (int trial = 0; trial < 20; trial++) {
                int kvHead = trial % 2;
                Selection[] perHead = new Selection[2 * GROUP];
                TreeSet<Integer> union = new TreeSet<>();
                int[] heads = new int[GROUP];
                for (int i = 0; i < GROUP; i++) {
                    int h = kvHead * GROUP + i;
                    heads[i] = h;
                    perHead[h] = new Selection();
                    perHead[h].add(0, 16); // sinks, shared
                    // clusters of a common partition of the slots, each head taking some (in no particular order),
                    // the last one maybe cut; adjacent picks merge into one range
                    for (int c = 0; c < 40; c++) {
                        if (rnd.nextInt(3) != 0) continue;
                        int start = 16 + c * 60, end = start + (rnd.nextInt(4) == 0 ? 1 + rnd.nextInt(60) : 60);
                        perHead[h].add(start, end);
                    }
                    perHead[h].add(SLOTS - 100, SLOTS); // recent, shared
                    for (int r = 0; r < perHead[h].ranges(); r++) for (int p = perHead[h].start(r); p < perHead[h].end(r); p++) union.add(p);
                }
                float[] q = new float[2 * GROUP * D], out = new float[2 * GROUP * D];
                for (int i = 0; i < q.length; i++) q[i] = (float) (2 * rnd.nextGaussian());
                int read = SparseAttention.attendEach(kv, kvHead, perHead, heads, GROUP, q, out, new SparseAttention.Scratch(D, GROUP));
                assertEquals(union.size(), read, "slots read once each");
                for (int h : heads) {
                    int[] slots = new int[perHead[h].tokens()];
                    perHead[h].slots(slots);
                    double[] want = AttentionReference.attend(q, h * D, k, v, kvHead, D, slots);
                    for (int i = 0; i < D; i++) {
                        assertEquals(want[i], out[h * D + i], 2e-5 * (1 + Math.abs(want[i])), "trial " + trial + " head " + h + " dim " + i);
                    }
                }
            }
        }
    }

    /**
     * An estimate stands for count tokens by their mean key and mean value: exact when the tokens' keys are all equal
     * (their values may differ), against float64 attention over every token.
     */
    @Test
    void anEstimateOfTokensWithEqualKeysIsExact() {
        SplittableRandom rnd = new SplittableRandom(9);
        int slots = 200, from = 50, to = 170; // slots [from, to) share one key and are estimated, not read
        try (KVCache cache = new KVCache(1, 1, D, slots, KVType.F32)) {
            float[][] k = new float[slots][D], v = new float[slots][D];
            float[] shared = new float[D], meanValue = new float[D];
            for (int i = 0; i < D; i++) shared[i] = (float) (0.3 * rnd.nextGaussian());
            for (int p = 0; p < slots; p++) {
                for (int i = 0; i < D; i++) {
                    k[p][i] = p >= from && p < to ? shared[i] : (float) (0.3 * rnd.nextGaussian());
                    v[p][i] = (float) rnd.nextGaussian();
                    if (p >= from && p < to) meanValue[i] += v[p][i] / (to - from);
                }
                cache.store(0, p, k[p], 0, v[p], 0);
            }
            Selection sel = new Selection();
            sel.add(0, from);
            sel.add(to, slots);
            float[] meanKeys = new float[3 * D], meanValues = new float[3 * D]; // the estimate's row among others
            System.arraycopy(shared, 0, meanKeys, 2 * D, D);
            System.arraycopy(meanValue, 0, meanValues, 2 * D, D);
            sel.estimateFrom(meanKeys, meanValues);
            sel.addEstimate(2 * D, to - from);
            float[] q = new float[GROUP * D], out = new float[GROUP * D];
            for (int i = 0; i < q.length; i++) q[i] = (float) (2 * rnd.nextGaussian());
            int[] heads = {0, 1, 2, 3};
            SparseAttention.attend(new LayerKV(cache, 0), 0, sel, heads, GROUP, q, out, null, new SparseAttention.Scratch(D, GROUP));
            float[] each = new float[GROUP * D];
            SparseAttention.attendEach(new LayerKV(cache, 0), 0, new Selection[]{sel, sel, sel, sel}, heads, GROUP, q, each,
                    new SparseAttention.Scratch(D, GROUP));
            int[] all = java.util.stream.IntStream.range(0, slots).toArray();
            for (int h : heads) {
                double[] want = AttentionReference.attend(q, h * D, k, v, 0, D, all);
                for (int i = 0; i < D; i++) {
                    assertEquals(want[i], out[h * D + i], 2e-5 * (1 + Math.abs(want[i])), "attend, head " + h + " dim " + i);
                    assertEquals(want[i], each[h * D + i], 2e-5 * (1 + Math.abs(want[i])), "attendEach, head " + h + " dim " + i);
                }
            }
        }
    }
}
