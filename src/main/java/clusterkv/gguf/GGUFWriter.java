package clusterkv.gguf;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

/**
 * Writes GGUF v3 files. Tensor bytes are produced by a {@link TensorSource} straight into a
 * memory mapping of the output, so multi-GiB files are written without holding them on the heap.
 * The file is written under a temporary name and moved into place when complete.
 */
public final class GGUFWriter {

    /** Fills the destination (exactly the tensor's byte size) with the tensor's encoded data. */
    @FunctionalInterface
    public interface TensorSource {
        void fill(MemorySegment destination);
    }

    public record PendingTensor(String name, long[] shape, GGMLType type, TensorSource source) {
        long byteSize() {
            long n = 1;
            for (long d : shape) n *= d;
            return type.byteSize(n);
        }
    }

    private GGUFWriter() {}

    public static void write(Path path, GGUFMetadata metadata, List<PendingTensor> tensors) throws IOException {
        int alignment = metadata.getInt("general.alignment", GGUFFile.DEFAULT_ALIGNMENT);
        Header h = new Header();
        h.i32(GGUFFile.MAGIC);
        h.i32(3);
        h.i64(tensors.size());
        h.i64(metadata.entries().size());
        for (Map.Entry<String, GGUFMetadata.Entry> e : metadata.entries().entrySet()) {
            h.string(e.getKey());
            h.i32(e.getValue().type().ordinal());
            h.value(e.getValue().type(), e.getValue().elementType(), e.getValue().value());
        }
        long[] offsets = new long[tensors.size()];
        long offset = 0;
        for (int i = 0; i < tensors.size(); i++) {
            PendingTensor t = tensors.get(i);
            if (t.shape()[0] % t.type().blockSize != 0) {
                throw new IllegalArgumentException("tensor " + t.name() + ": row " + t.shape()[0] + " not a multiple of block " + t.type().blockSize);
            }
            offsets[i] = offset;
            offset = align(offset + t.byteSize(), alignment);
            h.string(t.name());
            h.i32(t.shape().length);
            for (long d : t.shape()) h.i64(d);
            h.i32(t.type().id);
            h.i64(offsets[i]);
        }
        byte[] header = h.bytes();
        long dataStart = align(header.length, alignment);
        long total = dataStart + offset;

        // a name of its own: two writers of one path (two servers sharing a folder) never write into the same file
        Path tmp = Files.createTempFile(path.toAbsolutePath().getParent(), path.getFileName() + ".", ".part");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.READ, StandardOpenOption.WRITE);
             Arena arena = Arena.ofShared()) { // sources may fill in parallel
            MemorySegment mapped = ch.map(FileChannel.MapMode.READ_WRITE, 0, Math.max(total, 1), arena);
            MemorySegment out = GGUFFile.plainNative(mapped, arena, false); // the kernels that fill it see one segment class
            MemorySegment.copy(header, 0, out, ValueLayout.JAVA_BYTE, 0, header.length);
            for (int i = 0; i < tensors.size(); i++) {
                PendingTensor t = tensors.get(i);
                t.source().fill(out.asSlice(dataStart + offsets[i], t.byteSize()));
            }
            mapped.force();
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        } catch (InternalError e) {
            // a store into the mapping that the file system could not back (the disk filled up): SIGBUS, reported so
            Files.deleteIfExists(tmp);
            throw new IOException("cannot write " + path + ": " + e.getMessage() + " (is the disk full?)", e);
        }
        try {
            Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (java.nio.file.AtomicMoveNotSupportedException e) {
            Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static long align(long x, int alignment) {
        return (x + alignment - 1) / alignment * alignment;
    }

    private static final class Header {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        void i32(int v) { scratch.clear(); scratch.putInt(v); out.write(scratch.array(), 0, 4); }
        void i64(long v) { scratch.clear(); scratch.putLong(v); out.write(scratch.array(), 0, 8); }
        void i16(int v) { scratch.clear(); scratch.putShort((short) v); out.write(scratch.array(), 0, 2); }

        void string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            out.write(b, 0, b.length);
        }

        void value(GGUFValueType type, GGUFValueType elementType, Object v) {
            switch (type) {
                case UINT8, INT8 -> out.write((int) ((Number) v).longValue());
                case UINT16, INT16 -> i16((int) ((Number) v).longValue());
                case UINT32, INT32 -> i32((int) ((Number) v).longValue());
                case UINT64, INT64 -> i64(((Number) v).longValue());
                case FLOAT32 -> i32(Float.floatToRawIntBits(((Number) v).floatValue()));
                case FLOAT64 -> i64(Double.doubleToRawLongBits(((Number) v).doubleValue()));
                case BOOL -> out.write((Boolean) v ? 1 : 0);
                case STRING -> string((String) v);
                case ARRAY -> array(elementType, v);
            }
        }

        private void array(GGUFValueType et, Object v) {
            i32(et.ordinal());
            switch (v) {
                case String[] a -> { i64(a.length); for (String s : a) string(s); }
                case float[] a -> { i64(a.length); for (float f : a) value(et, null, f); }
                case double[] a -> { i64(a.length); for (double d : a) value(et, null, d); }
                case int[] a -> { i64(a.length); for (int x : a) value(et, null, (long) x); }
                case long[] a -> { i64(a.length); for (long x : a) value(et, null, x); }
                case boolean[] a -> { i64(a.length); for (boolean b : a) value(et, null, b); }
                default -> throw new IllegalArgumentException("cannot write array of " + v.getClass());
            }
        }

        byte[] bytes() { return out.toByteArray(); }
    }
}
