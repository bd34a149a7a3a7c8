package clusterkv.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

/**
 * Large zeroed off-heap allocations straight from the operating system (Linux mmap of anonymous memory),
 * freed (munmap) when their arena closes. Why not {@link Arena#allocate}: it writes zeros over the whole
 * block on the calling thread before returning, which for the decode copy of a 1B model's weights (1.3 GB)
 * took 0.4-1.2 s before the first token, and for a 128k-token KV cache (4.3 GB) commits every page up
 * front. Fresh anonymous pages read as zero and are only backed by memory when first written: by the
 * threads that fill them, in parallel, and for a KV cache only as far as the context has grown. Elsewhere
 * (another OS, or no native access) this falls back to the arena.
 */
public final class OsMemory {

    private static final int PROT_READ_WRITE = 0x3, MAP_PRIVATE_ANONYMOUS = 0x22;
    private static final MethodHandle MMAP, MUNMAP;

    static {
        MethodHandle mmap = null, munmap = null;
        if (System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            try {
                Linker linker = Linker.nativeLinker();
                var lookup = linker.defaultLookup();
                mmap = lookup.find("mmap").map(f -> linker.downcallHandle(f, FunctionDescriptor.of(ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG))).orElse(null);
                munmap = lookup.find("munmap").map(f -> linker.downcallHandle(f, FunctionDescriptor.of(ValueLayout.JAVA_INT,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_LONG))).orElse(null);
            } catch (RuntimeException | Error e) { // no native access granted, or an unusual platform
                mmap = munmap = null;
            }
        }
        MMAP = munmap == null ? null : mmap;
        MUNMAP = MMAP == null ? null : munmap;
    }

    private OsMemory() {}

    /** {@code bytes} of zeroed memory, page-aligned, that lives until {@code arena} closes. */
    public static MemorySegment allocate(Arena arena, long bytes) {
        if (MMAP != null && bytes > 0) {
            try {
                MemorySegment at = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, bytes, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0L);
                if (at.address() != -1L) return at.reinterpret(bytes, arena, s -> unmap(s.address(), bytes));
            } catch (Throwable t) {
                // fall through to the arena
            }
        }
        return arena.allocate(bytes, 4096);
    }

    private static void unmap(long address, long bytes) {
        try {
            int ignored = (int) MUNMAP.invokeExact(MemorySegment.ofAddress(address), bytes);
        } catch (Throwable t) {
            throw new IllegalStateException("munmap failed", t);
        }
    }
}
