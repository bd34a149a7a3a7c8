package clusterkv.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two sessions that hold the same cache and state compute the same floats once the JIT has compiled every kernel;
 * before, a last bit may differ (the Vector API leaves the order of a vector's final lane sum open, and the
 * interpreter's differs from compiled code's) and grow through the layers to a few 1e-6 of the largest logit
 * (see BatchDecoderTest). A session restored wrongly (a cluster, a kept slot or a score missing) attends to other
 * keys and is off by 1e-3 and more: 5e-5 of the largest |logit| tells the two apart, and the argmax must agree.
 */
final class SameLogits {

    static final double TOLERANCE = 5e-5;

    private SameLogits() {}

    static void assertSame(float[] expected, float[] actual, String message) {
        assertEquals(expected.length, actual.length, message);
        double scale = 0, diff = 0;
        int argExpected = 0, argActual = 0;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            diff = Math.max(diff, Math.abs(expected[i] - actual[i]));
            if (expected[i] > expected[argExpected]) argExpected = i;
            if (actual[i] > actual[argActual]) argActual = i;
        }
        assertTrue(diff <= TOLERANCE * Math.max(scale, 1e-30), message + ": relative difference " + diff / scale);
        assertEquals(argExpected, argActual, message + ": the next token");
    }
}
