package clusterkv.generate;

import clusterkv.kv.KVFormat;
import clusterkv.kv.KVType;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** What does not fit in the memory available is refused in one line with both figures and what would fit. */
class MemoryFitTest {

    /** The 8B shape: 32 layers, 8 KV heads of 128 values: 131072 bytes per position in F16. */
    private static final MemoryFit.Heads C = new MemoryFit.Heads(32, 8, 128);

    @Test
    void aCacheThatDoesNotFitNamesBothFiguresAndWhatWouldFit() {
        int context = 131072;
        long f16 = 131072L * 32 * 8 * 128 * 2 * 2; // 17.18 GB
        assertDoesNotThrow(() -> MemoryFit.checkCache(C, KVFormat.F16, context, context, f16));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MemoryFit.checkCache(C, KVFormat.F16, context, context, 12_000_000_000L));
        // q8_0: 8.5 bits a value (9.13 GB); q4_0: 4.5 (4.83 GB); f16 fits 12e9 / 131072 bytes = 91552 positions, 91136 in whole 1024s
        assertEquals("the KV cache (f16) needs 17.18 GB for 131072 tokens of context and 12.00 GB of memory is available after "
                + "the weights: use --kv-type q8_0 (9.13 GB) or --kv-type q4_0 (4.83 GB) or -c 91136", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> MemoryFit.checkCache(C, KVFormat.of(KVType.Q8_0), context, context, 6_000_000_000L));
        assertEquals("the KV cache (q8_0) needs 9.13 GB for 131072 tokens of context and 6.00 GB of memory is available after "
                + "the weights: use --kv-type q4_0 (4.83 GB) or -c 86016", e.getMessage());
    }

    @Test
    void unknownAvailabilityChecksNothingAndWeightsAreComparedToo() {
        assertDoesNotThrow(() -> MemoryFit.checkCache(C, KVFormat.F16, 131072, 131072, -1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MemoryFit.checkWeights(4_920_000_000L, 3_100_000_000L));
        assertEquals("the model's weights need 4.92 GB of memory and 3.10 GB is available: close other programs or use a smaller "
                + "quantization of the model", e.getMessage());
    }
}
