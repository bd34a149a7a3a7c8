package clusterkv.server;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Reads request bodies without letting a fast client's megabytes hold a carrier thread: a virtual thread runs until
 * it blocks, and reading from a client that keeps the socket full never blocks, so /health would wait for whole
 * bodies. Reading in steps, yielding between them, lets the other requests in. The array grows with what arrives,
 * up to the declared length: allocated at the declared size, it would let a client that declares the limit and
 * sends nothing hold that much memory per connection for the whole body timeout.
 */
final class Bodies {

    private static final int STEP = 64 << 10;

    private Bodies() {}

    /**
     * The body, or its first {@code limit + 1} bytes when it is longer (for the caller to refuse).
     *
     * @param declared the Content-Length, at most the limit, or -1 for a chunked body
     */
    static byte[] read(InputStream in, long declared, long limit) throws IOException {
        int most = (int) (declared >= 0 ? declared : limit + 1);
        byte[] body = new byte[Math.min(STEP, most)];
        int n = 0;
        while (n < most) {
            if (n == body.length) body = Arrays.copyOf(body, (int) Math.min(most, 2L * n));
            int read = in.read(body, n, Math.min(body.length - n, STEP));
            if (read < 0) break;
            n += read;
            Thread.yield();
        }
        return n == body.length ? body : Arrays.copyOf(body, n);
    }
}
