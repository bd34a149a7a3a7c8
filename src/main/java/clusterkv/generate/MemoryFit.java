package clusterkv.generate;

import clusterkv.kv.KVFormat;
import clusterkv.kv.KVType;
import clusterkv.model.ModelConfig;
import clusterkv.tensor.OsMemory;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Before the weights are loaded and before a KV cache is reserved: will they fit in the memory the OS has
 * available? Both are reserved lazily (mapped, or anonymous pages backed as they are written), so without this
 * check a cache too large fails late, as the context grows into it, by thrashing or by the OOM killer. Where they
 * will not fit, one line says so with both figures and what would fit.
 */
final class MemoryFit {

    private MemoryFit() {}

    /** The weights of a model file of {@code fileBytes} (mapped, and copied into the decode layouts) against what is available. */
    static void checkWeights(long fileBytes) {
        checkWeights(fileBytes, OsMemory.availableBytes());
    }

    static void checkWeights(long fileBytes, long available) {
        if (available < 0 || fileBytes <= available) return;
        throw new IllegalArgumentException("the model's weights need " + gb(fileBytes) + " of memory and " + gb(available)
                + " is available: close other programs or use a smaller quantization of the model");
    }

    /** A KV cache of {@code slots} positions per KV head (context and spare slots) against what is available after the weights. */
    static void checkCache(ModelConfig c, KVFormat format, int context, int slots) {
        checkCache(new Heads(c.layers(), c.kvHeads(), c.headDim()), format, context, slots, OsMemory.availableBytes());
    }

    /** What the size of a KV cache depends on. */
    record Heads(int layers, int kvHeads, int headDim) {}

    static void checkCache(Heads c, KVFormat format, int context, int slots, long available) {
        long perPosition = (long) c.layers() * c.kvHeads() * format.slotBytes(c.headDim());
        long need = slots * perPosition;
        if (available < 0 || need <= available) return;
        List<String> fits = new ArrayList<>();
        for (KVType t : new KVType[]{KVType.Q8_0, KVType.Q4_0}) {
            KVFormat smaller = new KVFormat(t, t, true);
            long bytes = slots * (long) c.layers() * c.kvHeads() * smaller.slotBytes(c.headDim());
            if (t.holds(c.headDim()) && bytes < need && bytes <= available) fits.add("--kv-type " + t.label() + " (" + gb(bytes) + ")");
        }
        int spare = slots - context;
        long positions = available / perPosition - spare;
        if (positions >= 1024) fits.add("-c " + positions / 1024 * 1024);
        throw new IllegalArgumentException("the KV cache (" + format.label() + ") needs " + gb(need) + " for " + context
                + " tokens of context and " + gb(available) + " of memory is available after the weights"
                + (fits.isEmpty() ? "" : ": use " + String.join(" or ", fits)));
    }

    private static String gb(long bytes) {
        return String.format(Locale.ROOT, "%.2f GB", bytes / 1e9);
    }
}
