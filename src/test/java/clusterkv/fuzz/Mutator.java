package clusterkv.fuzz;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A few of libFuzzer's byte mutations, for the short, reproducible fuzz of ./run-tests (no coverage feedback:
 * scripts/fuzz has Jazzer for that). Biased to what breaks binary headers: counts, lengths and offsets
 * overwritten with boundary values, fields shifted by deleting or repeating bytes, files cut short.
 */
final class Mutator {

    private static final long[] INTERESTING = {0, 1, -1, 2, 7, 8, 9, 31, 32, 33, 255, 256, 1 << 16, Integer.MAX_VALUE,
            Integer.MIN_VALUE, 0xFFFF_FFFFL, 1L << 32, 1L << 40, Long.MAX_VALUE, Long.MIN_VALUE};

    private final SplittableRandom random;

    Mutator(long seed) {
        this.random = new SplittableRandom(seed);
    }

    /** The input with one to four mutations applied. */
    byte[] mutate(byte[] input) {
        byte[] b = input;
        for (int n = 1 + random.nextInt(4); n > 0; n--) b = once(b);
        return b;
    }

    private byte[] once(byte[] b) {
        if (b.length < 8) return grow(b);
        int at = random.nextInt(b.length);
        return switch (random.nextInt(8)) {
            case 0 -> flipBit(b, at);
            case 1 -> setByte(b, at);
            case 7 -> setSmall(b, at);
            case 2 -> setInt(b, at);
            case 3 -> setLong(b, at);
            case 4 -> delete(b, at);
            case 5 -> repeat(b, at);
            default -> Arrays.copyOf(b, at); // cut short
        };
    }

    private byte[] flipBit(byte[] b, int at) {
        byte[] out = b.clone();
        out[at] ^= (byte) (1 << random.nextInt(8));
        return out;
    }

    private byte[] setByte(byte[] b, int at) {
        byte[] out = b.clone();
        out[at] = (byte) INTERESTING[random.nextInt(INTERESTING.length)];
        return out;
    }

    /** A small number in a 32-bit field: a type id, a dimension count, an enum. */
    private byte[] setSmall(byte[] b, int at) {
        byte[] out = b.clone();
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putInt(Math.min(at, out.length - 4), random.nextInt(48));
        return out;
    }

    private byte[] setInt(byte[] b, int at) {
        byte[] out = b.clone();
        int v = (int) INTERESTING[random.nextInt(INTERESTING.length)];
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putInt(Math.min(at, out.length - 4), v);
        return out;
    }

    private byte[] setLong(byte[] b, int at) {
        byte[] out = b.clone();
        long v = INTERESTING[random.nextInt(INTERESTING.length)];
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(Math.min(at, out.length - 8), v);
        return out;
    }

    private byte[] delete(byte[] b, int at) {
        int n = Math.min(1 + random.nextInt(16), b.length - at);
        byte[] out = new byte[b.length - n];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(b, at + n, out, at, b.length - at - n);
        return out;
    }

    private byte[] repeat(byte[] b, int at) {
        int n = Math.min(1 + random.nextInt(16), b.length - at);
        byte[] out = new byte[b.length + n];
        System.arraycopy(b, 0, out, 0, at + n);
        System.arraycopy(b, at, out, at + n, b.length - at);
        return out;
    }

    private byte[] grow(byte[] b) {
        byte[] out = Arrays.copyOf(b, b.length + 1);
        out[b.length] = (byte) random.nextInt(256);
        return out;
    }
}
