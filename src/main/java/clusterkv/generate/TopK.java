package clusterkv.generate;

import java.util.Arrays;

/**
 * Indices of the largest values, largest first, without boxing (a vocabulary can hold 150k entries).
 * One instance per sampler: the vocabulary-sized work array is reused from token to token.
 */
final class TopK {

    private long[] keyed = new long[0];

    int[] indicesDescending(float[] values, int k) {
        int n = values.length;
        k = Math.min(k, n);
        if (keyed.length != n) keyed = new long[n];
        long[] keyed = this.keyed;
        for (int i = 0; i < n; i++) keyed[i] = ((long) sortableBits(values[i]) << 32) | i;
        if (k < n / 8) {
            // partial: keep a running threshold with a min-heap of size k
            long[] heap = Arrays.copyOf(keyed, k);
            buildMinHeap(heap);
            for (int i = k; i < n; i++) {
                if (keyed[i] > heap[0]) { heap[0] = keyed[i]; siftDown(heap, 0, k); }
            }
            keyed = heap;
        }
        Arrays.sort(keyed);
        int[] out = new int[k];
        for (int i = 0; i < k; i++) out[i] = (int) keyed[keyed.length - 1 - i];
        return out;
    }

    /** Maps a float to an int whose signed order is the float's order. */
    private static int sortableBits(float f) {
        int b = Float.floatToIntBits(f);
        return b >= 0 ? b : b ^ 0x7FFFFFFF;
    }

    private static void buildMinHeap(long[] h) {
        for (int i = h.length / 2 - 1; i >= 0; i--) siftDown(h, i, h.length);
    }

    private static void siftDown(long[] h, int i, int n) {
        while (true) {
            int l = 2 * i + 1, r = l + 1, m = i;
            if (l < n && h[l] < h[m]) m = l;
            if (r < n && h[r] < h[m]) m = r;
            if (m == i) return;
            long t = h[i]; h[i] = h[m]; h[m] = t;
            i = m;
        }
    }
}
