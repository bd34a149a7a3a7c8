package clusterkv.kv;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Tiled causal attention (prefill chunks and single decode queries) against a float64 softmax written here. */
class CausalAttentionTest {

    private static final int KV_HEADS = 2, HEADS = 6, D = 64;

    @Test
    void chunksAndDecodeStepsMatchFloat64Attention() {
        // lengths that end inside, and exactly on, the prefill (128) and decode (32) key tiles
        int[][] cases = {{0, 1}, {0, 40}, {100, 1}, {127, 1}, {128, 1}, {159, 1}, {300, 1}, {90, 70}, {200, 33}};
        SplittableRandom rnd = new SplittableRandom(3);
        for (int[] c : cases) {
            int p0 = c[0], n = c[1], length = p0 + n;
            try (KVCache cache = new KVCache(1, KV_HEADS, D, length, KVType.F32)) {
                float[][] k = new float[length][KV_HEADS * D], v = new float[length][KV_HEADS * D];
                for (int p = 0; p < length; p++) {
                    for (int i = 0; i < KV_HEADS * D; i++) {
                        k[p][i] = (float) rnd.nextGaussian();
                        v[p][i] = (float) rnd.nextGaussian();
                    }
                    cache.store(0, p, k[p], 0, v[p], 0);
                }
                float[] q = new float[n * HEADS * D], out = new float[n * HEADS * D];
                for (int i = 0; i < q.length; i++) q[i] = (float) (2 * rnd.nextGaussian());
                CausalAttention.forward(cache, 0, q.clone(), out, p0, n, HEADS);
                for (int t = 0; t < n; t++) {
                    for (int h = 0; h < HEADS; h++) {
                        double[] want = AttentionReference.attend(q, (t * HEADS + h) * D, k, v, h / (HEADS / KV_HEADS), D, IntStream.range(0, p0 + t + 1).toArray());
                        for (int i = 0; i < D; i++) {
                            assertEquals(want[i], out[(t * HEADS + h) * D + i], 2e-5 * (1 + Math.abs(want[i])),
                                    "p0 " + p0 + " n " + n + " query " + t + " head " + h + " dim " + i);
                        }
                    }
                }
            }
        }
    }
}
