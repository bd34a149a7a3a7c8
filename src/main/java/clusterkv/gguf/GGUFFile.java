package clusterkv.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * A GGUF (v2 or v3) file, memory-mapped. Tensor data are slices of the mapping, so a file of
 * any size (also over 2 GiB) is opened without copying; {@link #close()} unmaps it.
 */
public final class GGUFFile implements AutoCloseable {

    public static final int MAGIC = 0x46554747; // "GGUF" little-endian
    public static final int DEFAULT_ALIGNMENT = 32;

    /** The fewest bytes a metadata entry takes: key length, value type, a one-byte value. */
    private static final int MIN_ENTRY_BYTES = 8 + 4 + 1;

    private final Path path;
    private final Arena arena;
    private final int version;
    private final GGUFMetadata metadata;
    private final Map<String, GGUFTensor> tensors;
    private final long dataOffset;

    private GGUFFile(Path path, Arena arena, int version, GGUFMetadata metadata,
                     Map<String, GGUFTensor> tensors, long dataOffset) {
        this.path = path;
        this.arena = arena;
        this.version = version;
        this.metadata = metadata;
        this.tensors = tensors;
        this.dataOffset = dataOffset;
    }

    public static GGUFFile open(Path path) throws IOException {
        return open(path, false);
    }

    /**
     * Opens the file with writable tensor data whose changes stay in this process (a private, copy-on-write
     * mapping: a session file's KV cache goes on growing in memory while the file is left as it was).
     */
    public static GGUFFile openCopyOnWrite(Path path) throws IOException {
        return open(path, true);
    }

    private static GGUFFile open(Path path, boolean copyOnWrite) throws IOException {
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString(), null, "no such file");
        if (Files.isDirectory(path)) throw new GGUFFormatException(path + " is a directory, not a GGUF file");
        Arena arena = Arena.ofShared();
        // Java maps privately only through a channel open for writing too; the file itself is never written
        var access = copyOnWrite ? new StandardOpenOption[]{StandardOpenOption.READ, StandardOpenOption.WRITE} : new StandardOpenOption[]{StandardOpenOption.READ};
        try (FileChannel ch = FileChannel.open(path, access)) {
            FileChannel.MapMode mode = copyOnWrite ? FileChannel.MapMode.PRIVATE : FileChannel.MapMode.READ_ONLY;
            MemorySegment file = plainNative(ch.map(mode, 0, ch.size(), arena), arena, !copyOnWrite);
            return parse(path, arena, file);
        } catch (RuntimeException | IOException e) {
            arena.close();
            throw e;
        }
    }

    /** A GGUF file held in memory (tests, fuzzing); {@code name} stands for its path in messages. */
    public static GGUFFile read(Path name, byte[] bytes) {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment file = arena.allocate(Math.max(bytes.length, 1), 64).asSlice(0, bytes.length);
            MemorySegment.copy(bytes, 0, file, ValueLayout.JAVA_BYTE, 0, bytes.length);
            return parse(name, arena, file.asReadOnly());
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * A mapping as an ordinary native segment over the same memory (read-only if asked), closed with the same arena.
     * Why: the kernels' vector loads go through JDK code whose type profiles are shared by every caller;
     * seeing both the mapped-segment class and the native one (the packed decode copies, the KV cache) makes
     * the JIT compile those loads for both, with type checks and less hoisting in the hot loops. Measured on
     * the 1B-shaped Q8_0 decode, all 113 matvecs of a step: 86-93 ms over the mapped segments against 56-58 ms
     * over this view of the same file, same runs.
     */
    static MemorySegment plainNative(MemorySegment mapped, Arena arena, boolean readOnly) {
        MemorySegment plain = MemorySegment.ofAddress(mapped.address()).reinterpret(mapped.byteSize(), arena, null);
        return readOnly ? plain.asReadOnly() : plain;
    }

    private static GGUFFile parse(Path path, Arena arena, MemorySegment file) {
        try {
            return parseHeader(path, arena, file);
        } catch (IndexOutOfBoundsException e) {
            throw new GGUFFormatException(path + ": truncated GGUF file (a header field runs past the end)");
        }
    }

    private static GGUFFile parseHeader(Path path, Arena arena, MemorySegment file) {
        if (file.byteSize() < 24) throw new GGUFFormatException(path + ": not a GGUF file (only " + file.byteSize() + " bytes)");
        GGUFReader r = new GGUFReader(file, path.toString());
        int magic = r.i32();
        if (magic != MAGIC) throw new GGUFFormatException(path + ": not a GGUF file (bad magic 0x" + Integer.toHexString(magic) + ")");
        int version = r.i32();
        if (version != 2 && version != 3) throw new GGUFFormatException(path + ": unsupported GGUF version " + version + " (2 and 3 are supported)");
        long tensorCount = r.i64();
        long kvCount = r.i64();
        // Each key and each tensor info takes some bytes: counts the file cannot hold are corrupt, not a reason to allocate.
        if (tensorCount < 0 || kvCount < 0 || tensorCount > r.remaining() / TensorTable.MIN_INFO_BYTES || kvCount > r.remaining() / MIN_ENTRY_BYTES) {
            throw new GGUFFormatException(path + ": corrupt GGUF header (" + tensorCount + " tensors, " + kvCount
                    + " metadata keys in a file of " + file.byteSize() + " bytes)");
        }
        GGUFMetadata metadata = new GGUFMetadata();
        for (long i = 0; i < kvCount; i++) {
            String key = r.string();
            if (metadata.contains(key)) throw new GGUFFormatException(path + ": duplicate metadata key '" + key + "'");
            GGUFMetadata.Entry e = r.entry(key);
            metadata.put(key, e.type(), e.elementType(), e.value());
        }
        TensorTable.Info[] infos = new TensorTable.Info[(int) tensorCount];
        for (int i = 0; i < tensorCount; i++) infos[i] = TensorTable.read(r, path.toString());
        int alignment = metadata.getInt("general.alignment", DEFAULT_ALIGNMENT);
        if (alignment <= 0 || Integer.bitCount(alignment) != 1) {
            throw new GGUFFormatException(path + ": general.alignment " + alignment + " is not a power of two");
        }
        long dataOffset = (r.pos + alignment - 1) / alignment * alignment;
        Map<String, GGUFTensor> tensors = TensorTable.place(infos, file, dataOffset, alignment, path.toString());
        return new GGUFFile(path, arena, version, metadata, tensors, dataOffset);
    }

    public Path path() { return path; }
    public int version() { return version; }
    public GGUFMetadata metadata() { return metadata; }
    public Map<String, GGUFTensor> tensors() { return tensors; }
    public long dataOffset() { return dataOffset; }

    public GGUFTensor tensor(String name) {
        return tensors.get(name);
    }

    public GGUFTensor requireTensor(String name) {
        GGUFTensor t = tensors.get(name);
        if (t == null) throw new GGUFFormatException(path + ": missing tensor '" + name + "'");
        return t;
    }

    /** False once closed (directly, or by whoever was handed its tensors' memory to own). */
    public boolean isOpen() {
        return arena.scope().isAlive();
    }

    @Override
    public void close() {
        arena.close();
    }
}
