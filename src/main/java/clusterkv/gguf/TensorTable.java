package clusterkv.gguf;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The tensor infos of a GGUF header, checked and placed on the file's data: names unique, a known type, a shape
 * whose size fits a long and whose rows are whole blocks, data aligned, inside the file and overlapping no other
 * tensor's. Every error names the tensor.
 */
final class TensorTable {

    /** The most dimensions a ggml tensor has (GGML_MAX_DIMS). */
    static final int MAX_DIMS = 4;
    /** The fewest header bytes a tensor info takes: name length, dimension count, one dimension, type, offset. */
    static final int MIN_INFO_BYTES = 8 + 4 + 8 + 4 + 8;

    record Info(String name, long[] shape, int typeId, long offset) {}

    private TensorTable() {}

    static Info read(GGUFReader r, String file) {
        String name = r.string();
        int nDims = r.i32();
        if (nDims < 1 || nDims > MAX_DIMS) throw new GGUFFormatException(file + ": tensor '" + name + "' has " + nDims + " dimensions (1 to " + MAX_DIMS + " allowed)");
        long[] shape = new long[nDims];
        for (int d = 0; d < nDims; d++) {
            shape[d] = r.i64();
            if (shape[d] <= 0) throw new GGUFFormatException(file + ": tensor '" + name + "' has dimension " + shape[d]);
        }
        return new Info(name, shape, r.i32(), r.i64());
    }

    /** The tensors in file order, their data sliced from {@code file} at {@code dataOffset} + their offsets. */
    static Map<String, GGUFTensor> place(Info[] infos, MemorySegment file, long dataOffset, int alignment, String path) {
        Map<String, GGUFTensor> tensors = new LinkedHashMap<>();
        for (Info info : infos) {
            if (tensors.containsKey(info.name)) throw new GGUFFormatException(path + ": duplicate tensor '" + info.name + "'");
            tensors.put(info.name, tensor(info, file, dataOffset, alignment, path));
        }
        checkNoOverlap(tensors, path);
        return Collections.unmodifiableMap(tensors);
    }

    private static GGUFTensor tensor(Info info, MemorySegment file, long dataOffset, int alignment, String path) {
        String at = path + ": tensor '" + info.name + "'";
        GGMLType type = GGMLType.fromId(info.typeId);
        if (type == null) throw new GGUFFormatException(at + " has unknown type id " + info.typeId);
        if (info.shape[0] % type.blockSize != 0) {
            throw new GGUFFormatException(at + " row of " + info.shape[0] + " is not a multiple of the " + type + " block size");
        }
        long size;
        try {
            long elements = 1;
            for (long d : info.shape) elements = Math.multiplyExact(elements, d);
            size = Math.multiplyExact(elements / type.blockSize, type.bytesPerBlock);
        } catch (ArithmeticException e) {
            throw new GGUFFormatException(at + " has shape " + Arrays.toString(info.shape) + ", too large (its size overflows)");
        }
        if (info.offset % alignment != 0) {
            throw new GGUFFormatException(at + " data offset " + info.offset + " is not a multiple of the alignment " + alignment);
        }
        long start = dataOffset + info.offset;
        if (info.offset < 0 || info.offset > file.byteSize() || start > file.byteSize() || size > file.byteSize() - start) {
            throw new GGUFFormatException(at + " data (" + size + " bytes at offset " + info.offset + " after the header's "
                    + dataOffset + ") runs past the end of the file (" + file.byteSize() + " bytes)");
        }
        return new GGUFTensor(info.name, info.shape, type, info.offset, file.asSlice(start, size));
    }

    private static void checkNoOverlap(Map<String, GGUFTensor> tensors, String path) {
        GGUFTensor[] byOffset = tensors.values().toArray(GGUFTensor[]::new);
        Arrays.sort(byOffset, Comparator.comparingLong(GGUFTensor::offset));
        for (int i = 1; i < byOffset.length; i++) {
            GGUFTensor prev = byOffset[i - 1], t = byOffset[i];
            if (t.offset() < prev.offset() + prev.data().byteSize()) {
                throw new GGUFFormatException(path + ": tensor '" + t.name() + "' (data at offset " + t.offset()
                        + ") overlaps tensor '" + prev.name() + "' (" + prev.data().byteSize() + " bytes at offset " + prev.offset() + ")");
            }
        }
    }
}
