package clusterkv.kv;

import clusterkv.tensor.OsMemory;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Giving the pages of evicted slots back to the OS: the bytes counted, the memory freed, the other slots intact. */
class KVCacheReleaseTest {

    private static final int HEADS = 2, D = 64, CAPACITY = 100_000;

    @Test
    void releasedPagesAreFreedAndOtherSlotsKeepTheirValues() throws Exception {
        try (KVCache cache = filled()) {
            float[] before = new float[CAPACITY * D], beforeOther = new float[CAPACITY * D];
            cache.readKeys(0, 0, 0, CAPACITY, before, 0);
            cache.readValues(0, 1, 0, CAPACITY, beforeOther, 0);
            long rss0 = residentBytes();
            cache.release(0, 0, 1000, 90_000);
            long rss1 = residentBytes();
            long slotBytes = (long) D * 2;
            // whole pages inside [1000, 90000) of head 0, keys and values: all but at most one page at each end
            long inside = 89_000 * slotBytes;
            assertTrue(cache.releasedBytes() <= 2 * inside && cache.releasedBytes() >= 2 * (inside - 2 * OsMemory.PAGE),
                    "released " + cache.releasedBytes());
            if (rss0 > 0) assertTrue(rss0 - rss1 > cache.releasedBytes() / 2, "RSS " + rss0 + " -> " + rss1);
            float[] after = new float[CAPACITY * D], afterOther = new float[CAPACITY * D];
            cache.readKeys(0, 0, 0, CAPACITY, after, 0);
            cache.readValues(0, 1, 0, CAPACITY, afterOther, 0);
            assertArrayEquals(java.util.Arrays.copyOf(before, 1000 * D), java.util.Arrays.copyOf(after, 1000 * D));
            assertArrayEquals(java.util.Arrays.copyOfRange(before, 90_000 * D, CAPACITY * D), java.util.Arrays.copyOfRange(after, 90_000 * D, CAPACITY * D));
            assertArrayEquals(beforeOther, afterOther, "the other KV head");
            // releasing again changes nothing
            long released = cache.releasedBytes();
            cache.release(0, 0, 1000, 90_000);
            assertEquals(released, cache.releasedBytes());
        }
    }

    @Test
    void storingIntoAReleasedPageBringsItBackAndRewindCountsFromThere() {
        try (KVCache cache = filled()) {
            cache.release(0, 0, 1000, 90_000);
            long released = cache.releasedBytes();
            float[] k = new float[HEADS * D], v = new float[HEADS * D];
            for (int i = 0; i < k.length; i++) {
                k[i] = i;
                v[i] = -i;
            }
            cache.store(0, 50_000, k, 0, v, 0); // one slot of head 0 (128 bytes) lies in one page
            assertEquals(released - 2 * OsMemory.PAGE, cache.releasedBytes());
            float[] back = new float[D];
            cache.readKeys(0, 0, 50_000, 1, back, 0);
            assertArrayEquals(java.util.Arrays.copyOf(k, D), back);
            cache.rewound(60_000); // pages from slot 60000 on count as held again
            long kept = cache.releasedBytes();
            assertTrue(kept < released - 2 * OsMemory.PAGE && kept > 0, "after rewind " + kept);
            cache.rewound(0);
            assertEquals(0, cache.releasedBytes());
        }
    }

    private static KVCache filled() {
        KVCache cache = new KVCache(1, HEADS, D, CAPACITY, KVType.F16);
        SplittableRandom rnd = new SplittableRandom(1);
        float[] k = new float[CAPACITY * D], v = new float[CAPACITY * D];
        for (int h = 0; h < HEADS; h++) {
            for (int i = 0; i < k.length; i++) {
                k[i] = (float) rnd.nextGaussian();
                v[i] = (float) rnd.nextGaussian();
            }
            cache.write(0, h, 0, CAPACITY, k, v);
        }
        return cache;
    }

    /** VmRSS of this process, or 0 where /proc is not there. */
    private static long residentBytes() throws Exception {
        Path status = Path.of("/proc/self/status");
        if (!Files.exists(status)) return 0;
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
        return 0;
    }
}
