package clusterkv.kv;

import clusterkv.tensor.OsMemory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The KV cache in each type: what is stored reads back as ggml's reference quantizers say, slot moves keep it. */
class KVFormatTest {

    private static final int HEADS = 2, D = 64;

    @ParameterizedTest
    @CsvSource({"q8_0,q8_0", "q4_0,q4_0", "q4_0,f16", "q8_0,f32", "f16,q4_0"})
    void storedVectorsReadBackAsGgmlsReferenceQuantizers(String keyType, String valueType) {
        KVFormat format = KVFormat.parse(null, keyType, valueType, false);
        int slots = 40;
        float[][] k = random(slots, 1), v = random(slots, 2);
        try (KVCache cache = new KVCache(2, HEADS, D, slots, format, 0)) {
            for (int p = 0; p < slots; p++) cache.store(1, p, k[p], 0, v[p], 0);
            for (int h = 0; h < HEADS; h++) {
                float[] keys = new float[slots * D], values = new float[slots * D], keys2 = new float[slots * D], values2 = new float[slots * D];
                cache.readKeys(1, h, 0, slots, keys, 0);
                cache.readValues(1, h, 0, slots, values, 0);
                cache.readKeysValues(1, h, 0, slots, keys2, values2);
                for (int p = 0; p < slots; p++) {
                    float[] wantK = Arrays.copyOfRange(k[p], h * D, (h + 1) * D), wantV = Arrays.copyOfRange(v[p], h * D, (h + 1) * D);
                    GgmlBlockReference.roundTrip(format.keys(), wantK, 0, D);
                    GgmlBlockReference.roundTrip(format.values(), wantV, 0, D);
                    assertArrayEquals(wantK, Arrays.copyOfRange(keys, p * D, (p + 1) * D), "key of slot " + p + " head " + h);
                    assertArrayEquals(wantV, Arrays.copyOfRange(values, p * D, (p + 1) * D), "value of slot " + p + " head " + h);
                }
                assertArrayEquals(keys, keys2);
                assertArrayEquals(values, values2);
            }
            assertEquals(2L * HEADS * (format.keys().rowBytes(D) + format.values().rowBytes(D)), cache.bytesPerPosition());
        }
    }

    @Test
    void bytesPerHeadVectorAreGgmlsBlockSizes() {
        assertEquals(256, KVType.F32.rowBytes(64));
        assertEquals(128, KVType.F16.rowBytes(64));
        assertEquals(68, KVType.Q8_0.rowBytes(64)); // 2 blocks of a 2-byte scale and 32 codes
        assertEquals(36, KVType.Q4_0.rowBytes(64)); // 2 blocks of a 2-byte scale and 16 bytes of nibbles
    }

    @Test
    void slotMovesCarryKeysAndValuesOfDifferentWidths() {
        KVFormat format = KVFormat.parse(null, "q4_0", "f16", false);
        int slots = 12;
        float[][] k = random(slots, 3), v = random(slots, 4);
        try (KVCache cache = new KVCache(1, HEADS, D, slots, format, 4)) {
            for (int p = 0; p < slots; p++) cache.store(0, p, k[p], 0, v[p], 0);
            float[] before = new float[slots * D], beforeV = new float[slots * D];
            cache.readKeysValues(0, 1, 0, slots, before, beforeV);
            cache.copySlots(0, 1, 3, slots, 4); // into the spare slots
            int[] order = {5, 4, 3, 2, 1, 0};
            cache.permute(0, 1, 0, order);
            float[] after = new float[(slots + 4) * D], afterV = new float[(slots + 4) * D];
            cache.readKeysValues(0, 1, 0, slots + 4, after, afterV);
            for (int i = 0; i < 4; i++) {
                assertArrayEquals(Arrays.copyOfRange(before, (3 + i) * D, (4 + i) * D), Arrays.copyOfRange(after, (slots + i) * D, (slots + i + 1) * D));
                assertArrayEquals(Arrays.copyOfRange(beforeV, (3 + i) * D, (4 + i) * D), Arrays.copyOfRange(afterV, (slots + i) * D, (slots + i + 1) * D));
            }
            for (int i = 0; i < order.length; i++) {
                assertArrayEquals(Arrays.copyOfRange(before, order[i] * D, (order[i] + 1) * D), Arrays.copyOfRange(after, i * D, (i + 1) * D));
                assertArrayEquals(Arrays.copyOfRange(beforeV, order[i] * D, (order[i] + 1) * D), Arrays.copyOfRange(afterV, i * D, (i + 1) * D));
            }
        }
    }

    @Test
    void releasingPagesOfDifferentWidthsCountsEachPlane() {
        int capacity = 20_000;
        try (KVCache cache = new KVCache(1, HEADS, D, capacity, KVFormat.parse(null, "q4_0", "f16", false), 0)) {
            float[] k = new float[capacity * D], v = new float[capacity * D];
            SplittableRandom rnd = new SplittableRandom(5);
            for (int i = 0; i < k.length; i++) {
                k[i] = (float) rnd.nextGaussian();
                v[i] = (float) rnd.nextGaussian();
            }
            cache.write(0, 0, 0, capacity, k, v);
            cache.release(0, 0, 1000, 19_000);
            long keys = 18_000 * KVType.Q4_0.rowBytes(D), values = 18_000 * KVType.F16.rowBytes(D);
            long released = cache.releasedBytes();
            assertTrue(released <= keys + values && released >= keys + values - 4 * OsMemory.PAGE, "released " + released);
            float[] back = new float[D];
            cache.readValues(0, 0, 999, 1, back, 0);
            float[] want = Arrays.copyOfRange(v, 999 * D, 1000 * D);
            GgmlBlockReference.roundTrip(KVType.F16, want, 0, D);
            assertArrayEquals(want, back, "a value just before the released range");
            cache.rewound(0);
            assertEquals(0, cache.releasedBytes());
        }
    }

    @Test
    void aHeadSizeThatIsNotWholeBlocksIsRefusedWithItsSize() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new KVCache(1, 1, 8, 16, KVFormat.parse("q8_0", null, null, false), 0));
        assertEquals("KV type q8_0 stores blocks of 32 values, but this model's head size is 8: use --kv-type f16 or f32", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new KVCache(1, 1, 48, 16, KVFormat.parse(null, null, "q4_0", false), 0));
        new KVCache(1, 1, 8, 16, KVFormat.parse("f16", null, null, true), 0).close();
    }

    @Test
    void quantizedKeysAreRotatedUnlessToldOtherwise() {
        assertTrue(KVFormat.parse("q8_0", null, null, null).rotate());
        assertTrue(KVFormat.parse(null, "q4_0", "f16", null).rotate());
        assertEquals(false, KVFormat.parse(null, "f16", "q4_0", null).rotate());
        assertEquals(false, KVFormat.parse("q4_0", null, null, false).rotate());
        assertEquals(KVFormat.F16, KVFormat.parse(null, null, null, null));
    }

    @Test
    void unknownTypesNameTheChoices() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KVType.parse("q5_k"));
        assertEquals("unknown KV type 'q5_k' (expected f32, f16, q8_0, q4_0)", e.getMessage());
        assertEquals(KVType.Q4_0, KVType.parse("Q4_0"));
    }

    @Test
    void queriesAreRoundedAsLlamaCppRoundsThemForTheKeyType() {
        float[] q = random(1, 6)[0], want = q.clone();
        for (KVType t : KVType.values()) {
            float[] got = q.clone();
            t.roundQuery(got, 0, got.length);
            System.arraycopy(q, 0, want, 0, q.length);
            // keys in Q4_0 are dotted with queries in Q8_0, like keys in Q8_0 (ggml's vec_dot_type of both)
            GgmlBlockReference.roundTrip(t == KVType.Q4_0 ? KVType.Q8_0 : t, want, 0, want.length);
            assertArrayEquals(want, got, t.label());
        }
    }

    /** [n][HEADS * D] Gaussian values with an outlier dimension per head, as real keys have. */
    static float[][] random(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[][] x = new float[n][HEADS * D];
        for (float[] row : x) {
            for (int i = 0; i < row.length; i++) row[i] = (float) rnd.nextGaussian();
            for (int h = 0; h < HEADS; h++) row[h * D + 7] *= 12;
        }
        return x;
    }
}
