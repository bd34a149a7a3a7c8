package clusterkv.tensor;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

class VectorMathTest {

    /**
     * dots is dot over many keys, near float64 (not compared bit for bit with dot: the Vector API leaves the order
     * of a lane reduction open, and it differs between interpreted and compiled code).
     */
    @Test
    void dotsEqualDotPerKeyAndFloat64() {
        Random rnd = new Random(11);
        for (int d : new int[] {8, 32, 64, 80, 128}) {
            for (int count = 0; count <= 9; count++) {
                float[] q = new float[d + 3], keys = new float[count * d], scores = new float[count];
                for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
                for (int i = 0; i < keys.length; i++) keys[i] = (float) rnd.nextGaussian();
                VectorMath.dots(q, 3, keys, count, d, 0.125f, scores);
                for (int j = 0; j < count; j++) {
                    String where = "d=" + d + " count=" + count + " key " + j;
                    double exact = 0, magnitude = 0;
                    for (int i = 0; i < d; i++) {
                        exact += (double) q[3 + i] * keys[j * d + i];
                        magnitude += Math.abs((double) q[3 + i] * keys[j * d + i]);
                    }
                    assertEquals(exact * 0.125, scores[j], 1e-6 * magnitude, where);
                    assertEquals(VectorMath.dot(q, 3, keys, j * d, d) * 0.125f, scores[j], 1e-6 * magnitude, where);
                }
            }
        }
    }

    /** SwiGLU against float64 over a range of gates (saturating both ways), lengths around the vector length. */
    @Test
    void swigluEqualsFloat64() {
        Random rnd = new Random(12);
        for (int n : new int[] {0, 1, 15, 16, 17, 100, 8192}) {
            float[] gate = new float[n], up = new float[n];
            for (int i = 0; i < n; i++) {
                gate[i] = (float) (rnd.nextGaussian() * (i % 7 == 0 ? 40 : 3));
                up[i] = (float) rnd.nextGaussian();
            }
            float[] out = gate.clone();
            VectorMath.swiglu(out, up, n);
            for (int i = 0; i < n; i++) {
                double g = gate[i], want = g / (1 + Math.exp(-g)) * up[i];
                assertEquals(want, out[i], 1e-6 * (Math.abs(want) + 1e-30), "n=" + n + " i=" + i + " gate " + gate[i]);
            }
        }
    }
}
