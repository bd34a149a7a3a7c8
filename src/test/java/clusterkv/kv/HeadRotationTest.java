package clusterkv.kv;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The rotation keeps every dot product and spreads a one-hot vector evenly over its block. */
class HeadRotationTest {

    @Test
    void dotProductsAreUnchanged() {
        for (int d : new int[]{8, 64, 96, 128}) {
            HeadRotation r = new HeadRotation(d);
            SplittableRandom rnd = new SplittableRandom(d);
            float[] a = new float[3 * d], b = new float[3 * d];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) rnd.nextGaussian();
                b[i] = (float) rnd.nextGaussian();
            }
            float[] ra = a.clone(), rb = b.clone();
            r.apply(ra, 0, 3);
            r.apply(rb, 0, 3);
            for (int h = 0; h < 3; h++) {
                assertEquals(dot(a, b, h * d, d), dot(ra, rb, h * d, d), 1e-4 * d, "head size " + d + " head " + h);
                assertEquals(dot(a, a, h * d, d), dot(ra, ra, h * d, d), 1e-4 * d, "norm, head size " + d);
            }
        }
    }

    @Test
    void anOutlierIsSpreadOverItsWholeBlock() {
        int d = 96, block = 32; // 96 = 3 x 32: the transform works on blocks of 32
        float[] x = new float[d];
        x[40] = 10;
        new HeadRotation(d).apply(x, 0, 1);
        for (int i = 0; i < d; i++) {
            double want = i / block == 40 / block ? 10 / Math.sqrt(block) : 0;
            assertEquals(want, Math.abs(x[i]), 1e-5, "dimension " + i);
        }
    }

    private static double dot(float[] a, float[] b, int off, int n) {
        double s = 0;
        for (int i = off; i < off + n; i++) s += (double) a[i] * b[i];
        return s;
    }
}
