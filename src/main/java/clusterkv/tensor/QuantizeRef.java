package clusterkv.tensor;

/** The block statistics that ggml's reference quantizers search for, with C's comparison semantics. */
final class QuantizeRef {

    private QuantizeRef() {}

    /** The value of largest magnitude among src[off .. off+n), the first one on ties (ggml's amax/max search). */
    static float largestMagnitude(float[] src, int off, int n) {
        float amax = 0, max = 0;
        for (int j = 0; j < n; j++) {
            float v = src[off + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        return max;
    }

    /** The smallest of src[off .. off+n), compared as in C, so that a -0.0 does not replace a 0.0. */
    static float min(float[] src, int off, int n) {
        float min = Float.MAX_VALUE;
        for (int j = 0; j < n; j++) {
            if (src[off + j] < min) min = src[off + j];
        }
        return min;
    }

    /** The largest of src[off .. off+n), compared as in C. */
    static float max(float[] src, int off, int n) {
        float max = -Float.MAX_VALUE;
        for (int j = 0; j < n; j++) {
            if (src[off + j] > max) max = src[off + j];
        }
        return max;
    }
}
