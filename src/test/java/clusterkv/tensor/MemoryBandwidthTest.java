package clusterkv.tensor;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MemoryBandwidthTest {

    @Test
    void sumReadsEveryByte() {
        MemorySegment s = Arena.ofAuto().allocate(1 << 16, 64);
        for (long i = 0; i < s.byteSize(); i += 8) s.set(ValueLayout.JAVA_LONG_UNALIGNED, i, i);
        long expected = 0;
        for (long i = 0; i < s.byteSize(); i += 8) expected += i;
        assertEquals(expected, MemoryBandwidth.sum(s, 0, s.byteSize()));
    }

    @Test
    void measuresAPlausibleRate() {
        double gbps = MemoryBandwidth.measureReadGBps(16L << 20, 3, 2);
        assertTrue(gbps > 0.1 && gbps < 10_000, "GB/s: " + gbps);
    }
}
