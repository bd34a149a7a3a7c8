package clusterkv.server;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.lang.management.ManagementFactory;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

/** {@link Bodies#read}: memory follows the bytes that arrive, not the length a client declares. */
class BodiesTest {

    private static final long LIMIT = 512L << 20;

    private static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    @Test
    void aDeclaredLengthThatNeverArrivesCostsNoMoreThanWhatDid() throws Exception {
        byte[] sent = "{\"prompt\": \"a\"}".getBytes();
        long before = allocated();
        byte[] body = Bodies.read(new ByteArrayInputStream(sent), 256L << 20, LIMIT); // claims 256 MiB, sends 15 bytes
        long cost = allocated() - before;
        assertArrayEquals(sent, body);
        assertTrue(cost < 1 << 20, "reading 15 bytes of a declared 256 MiB allocated " + cost + " bytes");
    }

    @Test
    void declaredChunkedAndOverTheLimit() throws Exception {
        byte[] data = new byte[300_000];
        Arrays.fill(data, (byte) 'x');
        assertArrayEquals(data, Bodies.read(new ByteArrayInputStream(data), data.length, LIMIT));
        assertArrayEquals(data, Bodies.read(new ByteArrayInputStream(data), -1, LIMIT));
        assertEquals(0, Bodies.read(new ByteArrayInputStream(data), 0, LIMIT).length);
        // a chunked body is read up to one byte past the limit, for the caller to refuse
        assertEquals(100_001, Bodies.read(new ByteArrayInputStream(data), -1, 100_000).length);
    }
}
