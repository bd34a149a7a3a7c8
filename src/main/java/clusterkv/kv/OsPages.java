package clusterkv.kv;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Gives whole pages of off-heap memory back to the operating system while keeping the address range
 * (Linux madvise(MADV_DONTNEED): the physical pages are freed, and read as zeros if touched again). Used for
 * the KV slots that an eviction policy has evicted for good. Where madvise is not available, nothing is released.
 */
final class OsPages {

    static final long PAGE = 4096;
    private static final int MADV_DONTNEED = 4;
    private static final MethodHandle MADVISE = lookup();

    private OsPages() {}

    private static MethodHandle lookup() {
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) return null;
        try {
            Linker linker = Linker.nativeLinker();
            return linker.defaultLookup().find("madvise")
                    .map(f -> linker.downcallHandle(f, FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT)))
                    .orElse(null);
        } catch (RuntimeException | Error e) { // no native access granted, or an unusual platform
            return null;
        }
    }

    /** Releases {@code pages} pages from {@code address}, which must be page-aligned and inside a live allocation. */
    static boolean release(long address, long pages) {
        if (MADVISE == null || pages <= 0) return false;
        try {
            return (int) MADVISE.invokeExact(MemorySegment.ofAddress(address), pages * PAGE, MADV_DONTNEED) == 0;
        } catch (Throwable t) {
            return false;
        }
    }
}
