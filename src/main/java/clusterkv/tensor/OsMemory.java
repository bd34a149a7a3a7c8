package clusterkv.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;
import java.util.Set;

/**
 * Large off-heap memory straight from the operating system (Linux on x86-64 and aarch64, through the FFM API):
 * <ul>
 *   <li>{@link #allocate}: zeroed memory from mmap of anonymous pages, unmapped when its arena closes. Why not
 *       {@link Arena#allocate}: it writes zeros over the whole block on the calling thread before returning, which
 *       for the decode copy of a 1B model's weights (1.3 GB) took 0.4-1.2 s before the first token, and for a
 *       128k-token KV cache (4.3 GB) commits every page up front. Fresh anonymous pages read as zero and are only
 *       backed by memory when first written: by the threads that fill them, in parallel, and for a KV cache only
 *       as far as the context has grown.</li>
 *   <li>{@link #release}: gives whole pages back while keeping the address range (madvise(MADV_DONTNEED): they
 *       read as zeros if touched again); for the KV slots that an eviction policy has evicted for good.</li>
 * </ul>
 * Elsewhere (another OS or processor, or no native access) allocation falls back to the arena and nothing is
 * released.
 */
public final class OsMemory {

    /** The page size that {@link #release} works in. */
    public static final long PAGE = 4096;
    private static final int PROT_READ_WRITE = 0x3, MAP_PRIVATE_ANONYMOUS = 0x22, MADV_RANDOM = 1, MADV_WILLNEED = 3, MADV_DONTNEED = 4;
    private static final MethodHandle MMAP, MUNMAP, MADVISE;

    static {
        MethodHandle mmap = null, munmap = null, madvise = null;
        // the flag values above are those of Linux on x86-64 and aarch64 (MIPS, Alpha and PA-RISC differ)
        if (System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")
                && Set.of("amd64", "x86_64", "aarch64").contains(System.getProperty("os.arch", ""))) {
            try {
                Linker linker = Linker.nativeLinker();
                SymbolLookup lookup = linker.defaultLookup();
                mmap = lookup.find("mmap").map(f -> linker.downcallHandle(f, FunctionDescriptor.of(ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG))).orElse(null);
                munmap = lookup.find("munmap").map(f -> linker.downcallHandle(f, FunctionDescriptor.of(ValueLayout.JAVA_INT,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_LONG))).orElse(null);
                madvise = lookup.find("madvise").map(f -> linker.downcallHandle(f, FunctionDescriptor.of(ValueLayout.JAVA_INT,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT))).orElse(null);
            } catch (RuntimeException | Error e) { // no native access granted, or an unusual platform
                mmap = munmap = madvise = null;
            }
        }
        MMAP = munmap == null ? null : mmap;
        MUNMAP = MMAP == null ? null : munmap;
        MADVISE = madvise;
    }

    private OsMemory() {}

    /** {@code bytes} of zeroed memory, page-aligned, that lives until {@code arena} closes. */
    public static MemorySegment allocate(Arena arena, long bytes) {
        if (MMAP != null && bytes > 0) {
            MemorySegment at;
            try {
                at = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, bytes, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0L);
            } catch (Throwable t) {
                at = null;
            }
            if (at != null && at.address() != -1L) { // -1: MAP_FAILED (out of address space or memory)
                long address = at.address();
                try {
                    return at.reinterpret(bytes, arena, s -> unmap(address, bytes));
                } catch (RuntimeException e) { // the arena is closed, or owned by another thread
                    unmap(address, bytes);
                    throw e;
                }
            }
        }
        return arena.allocate(bytes, PAGE);
    }

    /** Bytes this process has caused to be read from storage so far (Linux's /proc/self/io read_bytes), or -1 where unknown. */
    public static long storageBytesRead() {
        return procField("/proc/self/io", "read_bytes:");
    }

    /**
     * Bytes of memory the OS can give this process now without swapping (Linux's MemAvailable: free memory plus the
     * page cache it can drop), or -1 where that is unknown.
     */
    public static long availableBytes() {
        long kB = procField("/proc/meminfo", "MemAvailable:");
        return kB < 0 ? -1 : kB * 1024;
    }

    /** The number on the line of a Linux /proc file that starts with {@code key}, or -1 where there is none. */
    private static long procField(String file, String key) {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of(file))) {
                if (line.startsWith(key)) return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        } catch (java.io.IOException | RuntimeException e) {
            // not Linux, or no access
        }
        return -1;
    }

    /**
     * Tells the OS that a file mapping is read in scattered runs: a page fault then reads that page, not the
     * device's read-ahead window around it (8 MB on this project's machines: ClusterKV's runs of a few KB each read
     * 24 GB per token from a 34 GB --kv-file before this). Reads are asked for ahead with {@link #willNeed} instead.
     */
    public static void adviseRandom(MemorySegment mapping) {
        advise(mapping.address(), mapping.byteSize(), MADV_RANDOM);
    }

    /** Starts reading the pages of [address, address + bytes) of a file mapping in, without waiting for them. */
    public static void willNeed(long address, long bytes) {
        long start = address & -PAGE;
        advise(start, address + bytes - start, MADV_WILLNEED);
    }

    private static void advise(long address, long bytes, int advice) {
        if (MADVISE == null || bytes <= 0) return;
        try {
            int ignored = (int) MADVISE.invokeExact(MemorySegment.ofAddress(address), bytes, advice);
        } catch (Throwable t) {
            // advice only
        }
    }

    /** Releases {@code pages} pages from {@code address}, which must be page-aligned and inside a live allocation. */
    public static boolean release(long address, long pages) {
        if (MADVISE == null || pages <= 0) return false;
        try {
            return (int) MADVISE.invokeExact(MemorySegment.ofAddress(address), pages * PAGE, MADV_DONTNEED) == 0;
        } catch (Throwable t) {
            return false;
        }
    }

    private static void unmap(long address, long bytes) {
        int result;
        try {
            result = (int) MUNMAP.invokeExact(MemorySegment.ofAddress(address), bytes);
        } catch (Throwable t) {
            throw new IllegalStateException("munmap failed", t);
        }
        if (result != 0) throw new IllegalStateException("munmap of " + bytes + " bytes at 0x" + Long.toHexString(address) + " failed");
    }
}
