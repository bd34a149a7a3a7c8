package clusterkv.kv;

import java.util.SplittableRandom;

/**
 * A fixed orthogonal transform of each head vector: random signs, then a normalized Walsh-Hadamard transform over
 * blocks of n dimensions (n the largest power of two that divides the head size). Applied to the queries and to
 * the keys before they are stored, it leaves every q.k unchanged (R is orthogonal: Rq.Rk = q.k) and so the
 * attention output too, while a key's outlier dimensions are spread over its block: a 4-bit block scale set by
 * one large value then wastes fewer levels on the others (QuaRot, llama.cpp's rotated KV cache).
 */
public final class HeadRotation {

    /** The same signs in every process: a cache written rotated must be read with the same transform. */
    private static final long SEED = 0x5EED_C1A5L;

    private final int headDim, block;
    private final float[] signs;
    private final float norm;

    public HeadRotation(int headDim) {
        this.headDim = headDim;
        this.block = Integer.lowestOneBit(headDim);
        this.signs = new float[headDim];
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (int i = 0; i < headDim; i++) signs[i] = rnd.nextBoolean() ? 1f : -1f;
        this.norm = (float) (1 / Math.sqrt(block));
    }

    /** Rotates the {@code heads} head vectors at x[offset ..] in place. */
    public void apply(float[] x, int offset, int heads) {
        for (int h = 0; h < heads; h++) {
            int base = offset + h * headDim;
            for (int i = 0; i < headDim; i++) x[base + i] *= signs[i];
            for (int b = base; b < base + headDim; b += block) walshHadamard(x, b);
        }
    }

    /** The unnormalized fast transform of x[at ..+block), then scaled by 1/sqrt(block) so that it is orthogonal. */
    private void walshHadamard(float[] x, int at) {
        for (int len = 1; len < block; len <<= 1) {
            for (int i = at; i < at + block; i += len << 1) {
                for (int j = i; j < i + len; j++) {
                    float a = x[j], b = x[j + len];
                    x[j] = a + b;
                    x[j + len] = a - b;
                }
            }
        }
        for (int i = at; i < at + block; i++) x[i] *= norm;
    }
}
