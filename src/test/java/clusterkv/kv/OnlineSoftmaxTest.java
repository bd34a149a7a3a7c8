package clusterkv.kv;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

class OnlineSoftmaxTest {

    /** The register-blocked weighted value sum against float64 sums, for head sizes with and without a partial block. */
    @Test
    void weightedSumEqualsFloat64Reference() {
        Random rnd = new Random(7);
        for (int d : new int[] {8, 64, 80, 128}) {
            for (int count : new int[] {0, 1, 2, 5, 128}) {
                float[] w = new float[count], values = new float[count * d], acc = new float[3 * d];
                for (int j = 0; j < count; j++) w[j] = rnd.nextFloat();
                for (int i = 0; i < values.length; i++) values[i] = (float) rnd.nextGaussian();
                for (int i = 0; i < acc.length; i++) acc[i] = (float) rnd.nextGaussian();
                float[] before = acc.clone();
                OnlineSoftmax.weightedSum(w, count, values, d, acc, d); // the middle row
                for (int i = 0; i < d; i++) {
                    double expected = before[d + i], magnitude = Math.abs(before[d + i]);
                    for (int j = 0; j < count; j++) {
                        expected += (double) w[j] * values[j * d + i];
                        magnitude += Math.abs((double) w[j] * values[j * d + i]);
                    }
                    assertEquals(expected, acc[d + i], 1e-6 * magnitude + 1e-7, "d=" + d + " count=" + count + " i=" + i);
                    assertEquals(before[i], acc[i], 0, "row before untouched");
                    assertEquals(before[2 * d + i], acc[2 * d + i], 0, "row after untouched");
                }
            }
        }
    }
}
