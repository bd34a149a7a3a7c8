package clusterkv.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A GGUF (v2 or v3) file, memory-mapped. Tensor data are slices of the mapping, so a file of
 * any size (also over 2 GiB) is opened without copying; {@link #close()} unmaps it.
 */
public final class GGUFFile implements AutoCloseable {

    public static final int MAGIC = 0x46554747; // "GGUF" little-endian
    public static final int DEFAULT_ALIGNMENT = 32;

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

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
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString(), null, "no such file");
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment file = plainNative(ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena), arena, true);
            return parse(path, arena, file);
        } catch (IndexOutOfBoundsException e) {
            arena.close();
            throw new GGUFFormatException(path + ": truncated GGUF file (a header field runs past the end)");
        } catch (RuntimeException | IOException e) {
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
        if (file.byteSize() < 24) throw new GGUFFormatException(path + ": not a GGUF file (only " + file.byteSize() + " bytes)");
        Reader r = new Reader(file);
        int magic = r.i32();
        if (magic != MAGIC) throw new GGUFFormatException(path + ": not a GGUF file (bad magic 0x" + Integer.toHexString(magic) + ")");
        int version = r.i32();
        if (version != 2 && version != 3) throw new GGUFFormatException(path + ": unsupported GGUF version " + version + " (2 and 3 are supported)");
        long tensorCount = r.i64();
        long kvCount = r.i64();
        if (tensorCount < 0 || tensorCount > 1_000_000 || kvCount < 0 || kvCount > 1_000_000) {
            throw new GGUFFormatException(path + ": corrupt GGUF header (" + tensorCount + " tensors, " + kvCount + " metadata keys)");
        }
        GGUFMetadata metadata = new GGUFMetadata();
        for (long i = 0; i < kvCount; i++) {
            String key = r.string();
            GGUFValueType type = r.valueType();
            GGUFValueType elementType = type == GGUFValueType.ARRAY ? GGUFValueType.fromId(r.peekI32()) : null;
            metadata.put(key, type, elementType, r.value(type));
        }
        record Info(String name, long[] shape, int typeId, long offset) {}
        Info[] infos = new Info[(int) tensorCount];
        for (int i = 0; i < tensorCount; i++) {
            String name = r.string();
            int nDims = r.i32();
            if (nDims < 1 || nDims > 4) throw new GGUFFormatException(path + ": tensor '" + name + "' has " + nDims + " dimensions");
            long[] shape = new long[nDims];
            for (int d = 0; d < nDims; d++) {
                shape[d] = r.i64();
                if (shape[d] <= 0) throw new GGUFFormatException(path + ": tensor '" + name + "' has dimension " + shape[d]);
            }
            infos[i] = new Info(name, shape, r.i32(), r.i64());
        }
        int alignment = metadata.getInt("general.alignment", DEFAULT_ALIGNMENT);
        if (alignment <= 0 || Integer.bitCount(alignment) != 1) throw new GGUFFormatException(path + ": bad general.alignment " + alignment);
        long dataOffset = (r.pos + alignment - 1) / alignment * alignment;
        Map<String, GGUFTensor> tensors = new LinkedHashMap<>();
        for (Info info : infos) {
            GGMLType type = GGMLType.fromId(info.typeId);
            if (type == null) throw new GGUFFormatException(path + ": tensor '" + info.name + "' has unknown type id " + info.typeId);
            long elements = 1;
            for (long d : info.shape) elements = Math.multiplyExact(elements, d);
            if (info.shape[0] % type.blockSize != 0) {
                throw new GGUFFormatException(path + ": tensor '" + info.name + "' row of " + info.shape[0] + " is not a multiple of the " + type + " block size");
            }
            long size = type.byteSize(elements);
            long start = dataOffset + info.offset;
            if (info.offset < 0 || start + size > file.byteSize()) {
                throw new GGUFFormatException(path + ": tensor '" + info.name + "' data (" + size + " bytes at offset " + start
                        + ") runs past the end of the file (" + file.byteSize() + " bytes)");
            }
            tensors.put(info.name, new GGUFTensor(info.name, info.shape, type, info.offset, file.asSlice(start, size)));
        }
        return new GGUFFile(path, arena, version, metadata, Collections.unmodifiableMap(tensors), dataOffset);
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

    @Override
    public void close() {
        arena.close();
    }

    /** Sequential little-endian reader over the mapping; bounds violations surface as IndexOutOfBoundsException. */
    private static final class Reader {
        private final MemorySegment seg;
        long pos;

        Reader(MemorySegment seg) { this.seg = seg; }

        int peekI32() { return seg.get(INT, pos); }
        int i32() { int v = seg.get(INT, pos); pos += 4; return v; }
        long i64() { long v = seg.get(LONG, pos); pos += 8; return v; }

        GGUFValueType valueType() {
            int id = i32();
            GGUFValueType t = GGUFValueType.fromId(id);
            if (t == null) throw new GGUFFormatException("corrupt GGUF metadata: unknown value type " + id);
            return t;
        }

        String string() {
            long len = i64();
            if (len < 0 || pos + len > seg.byteSize()) throw new IndexOutOfBoundsException();
            byte[] bytes = new byte[(int) len];
            MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, bytes, 0, bytes.length);
            pos += len;
            return new String(bytes, StandardCharsets.UTF_8);
        }

        Object value(GGUFValueType type) {
            return switch (type) {
                case UINT8 -> { long v = seg.get(ValueLayout.JAVA_BYTE, pos) & 0xFFL; pos += 1; yield v; }
                case INT8 -> { long v = seg.get(ValueLayout.JAVA_BYTE, pos); pos += 1; yield v; }
                case UINT16 -> { long v = seg.get(SHORT, pos) & 0xFFFFL; pos += 2; yield v; }
                case INT16 -> { long v = seg.get(SHORT, pos); pos += 2; yield v; }
                case UINT32 -> { long v = seg.get(INT, pos) & 0xFFFFFFFFL; pos += 4; yield v; }
                case INT32 -> { long v = seg.get(INT, pos); pos += 4; yield v; }
                case UINT64, INT64 -> i64();
                case FLOAT32 -> { float v = seg.get(FLOAT, pos); pos += 4; yield v; }
                case FLOAT64 -> { double v = seg.get(DOUBLE, pos); pos += 8; yield v; }
                case BOOL -> { boolean v = seg.get(ValueLayout.JAVA_BYTE, pos) != 0; pos += 1; yield v; }
                case STRING -> string();
                case ARRAY -> array();
            };
        }

        private Object array() {
            GGUFValueType et = valueType();
            long n = i64();
            long minBytes = et.width > 0 ? n * et.width : n * 8;
            if (n < 0 || n > Integer.MAX_VALUE - 8 || pos + minBytes > seg.byteSize()) throw new IndexOutOfBoundsException();
            int len = (int) n;
            switch (et) {
                case STRING -> {
                    String[] a = new String[len];
                    for (int i = 0; i < len; i++) a[i] = string();
                    return a;
                }
                case FLOAT32 -> {
                    float[] a = new float[len];
                    MemorySegment.copy(seg, FLOAT, pos, a, 0, len);
                    pos += 4L * len;
                    return a;
                }
                case FLOAT64 -> {
                    double[] a = new double[len];
                    MemorySegment.copy(seg, DOUBLE, pos, a, 0, len);
                    pos += 8L * len;
                    return a;
                }
                case INT64, UINT64 -> {
                    long[] a = new long[len];
                    MemorySegment.copy(seg, LONG, pos, a, 0, len);
                    pos += 8L * len;
                    return a;
                }
                case BOOL -> {
                    boolean[] a = new boolean[len];
                    for (int i = 0; i < len; i++) a[i] = (Boolean) value(et);
                    return a;
                }
                case ARRAY -> {
                    Object[] a = new Object[len];
                    for (int i = 0; i < len; i++) a[i] = array();
                    return a;
                }
                default -> {
                    int[] a = new int[len];
                    for (int i = 0; i < len; i++) a[i] = (int) (long) (Long) value(et);
                    return a;
                }
            }
        }
    }
}
