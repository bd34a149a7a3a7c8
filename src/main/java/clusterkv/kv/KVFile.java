package clusterkv.kv;

import clusterkv.tensor.OsMemory;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A KV cache's memory in a file (--kv-file): one shared mapping that the operating system pages in as attention
 * reads it and writes back and drops as memory runs short, so that a cache larger than RAM can be decoded (ClusterKV
 * then touches per step only the window and the clusters it recalls, contiguous runs of the file). The file is
 * removed from its directory as soon as it is mapped: its space goes back when the cache is freed, or the process
 * ends in any way, and no other process sees it. Handed out to the planes layer by layer, each page-aligned.
 */
final class KVFile {

    private final MemorySegment mapping;
    private long used;

    private KVFile(MemorySegment mapping) {
        this.mapping = mapping;
    }

    /**
     * Maps a new file of {@code bytes} at {@code where} (a path that must not exist yet, or a directory to make
     * it in), unmapped when the arena closes. Fails in one line when the disk cannot hold it.
     */
    static KVFile map(Arena arena, Path where, long bytes) throws IOException {
        Path file = Files.isDirectory(where) ? Files.createTempFile(where, "clusterkv-kv-", ".cache") : where;
        if (!Files.isDirectory(where) && Files.exists(where)) {
            throw new IOException("--kv-file " + where + " already exists: give a new file or a directory (the cache is never written over a file)");
        }
        Path dir = file.toAbsolutePath().getParent();
        long free = Files.getFileStore(dir).getUsableSpace();
        if (free < bytes) {
            Files.deleteIfExists(file);
            throw new IOException("the KV cache file needs " + (bytes >> 20) + " MiB and " + dir + " has " + (free >> 20) + " MiB free: lower -c or choose another --kv-file");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            MemorySegment mapped = ch.map(FileChannel.MapMode.READ_WRITE, 0, Math.max(bytes, 1), arena);
            // a plain native segment over the mapping, for the kernels' type profiles (see GGUFFile.plainNative)
            return new KVFile(MemorySegment.ofAddress(mapped.address()).reinterpret(mapped.byteSize(), arena, null));
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** The bytes a file holding these layers takes: each layer rounded up to whole pages. */
    static long pagesFor(long layerBytes, int layers) {
        return Math.ceilDiv(layerBytes, OsMemory.PAGE) * OsMemory.PAGE * layers;
    }

    /** The next {@code bytes} of the file, starting on a page. */
    MemorySegment take(long bytes) {
        MemorySegment s = mapping.asSlice(used, bytes);
        used += Math.ceilDiv(bytes, OsMemory.PAGE) * OsMemory.PAGE;
        return s;
    }
}
