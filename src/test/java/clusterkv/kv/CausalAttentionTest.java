package clusterkv.kv;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Tiled causal attention (prefill chunks and single decode queries) against a float64 softmax written here. */
class CausalAttentionTest {

    /**
     * {kvHeads, heads, headDim}: groups of 3 (heads one at a time), 8 (two blocks of four heads sharing each key),
     * 7 at head size 128 (a block of four, two chunks of the head, three heads alone), and a head size that is not
     * a multiple of four vectors (one at a time).
     */
    private static final int[][] SHAPES = {{2, 6, 64}, {1, 8, 64}, {2, 14, 128}, {2, 8, 48}};

    @Test
    void chunksAndDecodeStepsMatchFloat64Attention() {
        for (int[] shape : SHAPES) check(shape[0], shape[1], shape[2], KVFormat.of(KVType.F32));
    }

    /**
     * With quantized keys and values the reference attends over ggml's round trip of them, with the query rounded
     * as for the key type; rotated, over the unrotated F32 keys (the rotation changes no dot product).
     */
    @Test
    void quantizedAndRotatedCachesMatchFloat64AttentionOverWhatTheyStore() {
        for (String types : new String[]{"q8_0/q8_0", "q4_0/q4_0", "q4_0/f16", "f16/q8_0"}) {
            String[] kv = types.split("/");
            check(2, 8, 64, KVFormat.parse(null, kv[0], kv[1], false));
            check(1, 7, 128, KVFormat.parse(null, kv[0], kv[1], false));
        }
        check(2, 8, 64, KVFormat.of(KVType.F32).withRotation(true));
        check(2, 6, 96, KVFormat.of(KVType.F32).withRotation(true));
    }

    private static void check(int kvHeads, int heads, int d, KVFormat format) {
        // lengths that end inside, and exactly on, the prefill (128) and decode (32) key tiles
        int[][] cases = {{0, 1}, {0, 40}, {100, 1}, {127, 1}, {128, 1}, {159, 1}, {300, 1}, {90, 70}, {200, 33}};
        SplittableRandom rnd = new SplittableRandom(3);
        for (int[] c : cases) {
            int p0 = c[0], n = c[1], length = p0 + n;
            try (KVCache cache = new KVCache(1, kvHeads, d, length, format, 0)) {
                float[][] k = new float[length][kvHeads * d], v = new float[length][kvHeads * d];
                for (int p = 0; p < length; p++) {
                    for (int i = 0; i < kvHeads * d; i++) {
                        k[p][i] = (float) rnd.nextGaussian();
                        v[p][i] = (float) rnd.nextGaussian();
                    }
                    cache.store(0, p, 1, k[p].clone(), v[p]);
                    GgmlBlockReference.roundTrip(format.keys(), k[p], 0, k[p].length);
                    GgmlBlockReference.roundTrip(format.values(), v[p], 0, v[p].length);
                }
                float[] q = new float[n * heads * d], out = new float[n * heads * d];
                for (int i = 0; i < q.length; i++) q[i] = (float) (2 * rnd.nextGaussian());
                float[] prepared = q.clone();
                cache.prepareQueries(prepared, n, heads);
                CausalAttention.forward(cache, 0, prepared, out, p0, n, heads);
                GgmlBlockReference.roundTrip(format.keys().quantized() ? KVType.Q8_0 : format.keys(), q, 0, q.length);
                for (int t = 0; t < n; t++) {
                    for (int h = 0; h < heads; h++) {
                        double[] want = AttentionReference.attend(q, (t * heads + h) * d, k, v, h / (heads / kvHeads), d, IntStream.range(0, p0 + t + 1).toArray());
                        for (int i = 0; i < d; i++) {
                            assertEquals(want[i], out[(t * heads + h) * d + i], 2e-5 * (1 + Math.abs(want[i])),
                                    format.label() + " shape " + kvHeads + "/" + heads + "/" + d + " p0 " + p0 + " n " + n + " query " + t + " head " + h + " dim " + i);
                        }
                    }
                }
            }
        }
    }
}
