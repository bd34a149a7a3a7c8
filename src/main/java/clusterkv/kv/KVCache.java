package clusterkv.kv;

import clusterkv.tensor.Float16;
import clusterkv.tensor.OsMemory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.BitSet;

/**
 * Keys and values of every layer, off-heap. Per layer the layout is [kvHead][position][headDim]:
 * one KV head's keys for consecutive positions are contiguous, so scanning, clustering and
 * gathering one head reads memory sequentially. Freed by {@link #close()}.
 */
public final class KVCache implements AutoCloseable {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    public final int layers;
    public final int kvHeads;
    public final int headDim;
    public final int capacity;
    /** Per KV head, slots after the capacity that a policy uses as its own working space (ClusterKV's working set). */
    public final int spareSlots;
    public final KVType type;
    /** Slots per KV head: the capacity and the spare slots after it. */
    private final int slotsPerHead;
    private final Arena arena;
    private final MemorySegment[] keys;
    private final MemorySegment[] values;
    /** Per layer: the pages (counted from the start of the layer's key segment, the same in its value segment) given back to the OS. */
    private final BitSet[] released;
    private long releasedBytes;

    public KVCache(int layers, int kvHeads, int headDim, int capacity, KVType type) {
        this(layers, kvHeads, headDim, capacity, type, 0);
    }

    public KVCache(int layers, int kvHeads, int headDim, int capacity, KVType type, int spareSlots) {
        this.layers = layers;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.capacity = capacity;
        this.spareSlots = spareSlots;
        this.slotsPerHead = capacity + spareSlots;
        this.type = type;
        this.arena = Arena.ofShared();
        this.keys = new MemorySegment[layers];
        this.values = new MemorySegment[layers];
        this.released = new BitSet[layers];
        for (int l = 0; l < layers; l++) released[l] = new BitSet();
        long perLayer = (long) kvHeads * slotsPerHead * headDim * type.bytes;
        try {
            for (int l = 0; l < layers; l++) {
                // page-aligned, so that a page index is the same in the key and the value segment (see release);
                // from the OS, so that pages are only backed as the context grows into them
                keys[l] = OsMemory.allocate(arena, perLayer);
                values[l] = OsMemory.allocate(arena, perLayer);
            }
        } catch (OutOfMemoryError | RuntimeException e) {
            arena.close();
            throw new KVCacheAllocationException("cannot allocate the KV cache (" + (2 * perLayer * layers >> 20) + " MiB for "
                    + capacity + " positions): lower the context size with -c", e);
        }
    }

    /** Bytes held for the whole capacity and the spare slots, keys and values of all layers. */
    public long byteSize() {
        return 2L * layers * kvHeads * slotsPerHead * headDim * type.bytes;
    }

    /** Bytes of one position, keys and values of all layers. */
    public long bytesPerPosition() {
        return 2L * layers * kvHeads * headDim * type.bytes;
    }

    private long offset(int kvHead, int position) {
        return ((long) kvHead * slotsPerHead + position) * headDim * type.bytes;
    }

    /**
     * Gives back to the OS the whole pages that lie inside slots [from, to) of one KV head, keys and values
     * (slots an eviction policy will never read again). The range stays valid: a later store re-populates a page.
     */
    public void release(int layer, int kvHead, int from, int to) {
        if (to <= from) return;
        BitSet bits = released[layer];
        for (int p = (int) Math.ceilDiv(offset(kvHead, from), OsMemory.PAGE), last = (int) (offset(kvHead, to) / OsMemory.PAGE); p < last; ) {
            if (bits.get(p)) {
                p++;
                continue;
            }
            int q = bits.nextSetBit(p);
            q = q < 0 || q > last ? last : q;
            long at = p * OsMemory.PAGE;
            if (OsMemory.release(keys[layer].address() + at, q - p) && OsMemory.release(values[layer].address() + at, q - p)) {
                bits.set(p, q);
                releasedBytes += 2L * (q - p) * OsMemory.PAGE;
            }
            p = q;
        }
    }

    /** Bytes of keys and values given back to the OS by {@link #release} and not stored to since. */
    public long releasedBytes() {
        return releasedBytes;
    }

    /**
     * The session was rewound to {@code position}: pages holding slots from there on count as held again (they
     * are rewritten before they are read), so that the bytes held stay those of positions [0, position).
     */
    public void rewound(int position) {
        for (int layer = 0; layer < layers; layer++) {
            if (released[layer].isEmpty()) continue;
            for (int h = 0; h < kvHeads; h++) reclaim(layer, offset(h, position), offset(h, slotsPerHead));
        }
    }

    /** Stores into released pages bring them back (the OS supplies zeroed pages; the slots are written now). */
    private void reclaim(int layer, long fromOffset, long toOffset) {
        BitSet bits = released[layer];
        if (bits.isEmpty()) return;
        for (int p = bits.nextSetBit((int) (fromOffset / OsMemory.PAGE)); p >= 0 && p <= (toOffset - 1) / OsMemory.PAGE; p = bits.nextSetBit(p + 1)) {
            bits.clear(p);
            releasedBytes -= 2 * OsMemory.PAGE;
        }
    }

    private void reclaim(int layer, int kvHead, int position) {
        reclaim(layer, offset(kvHead, position), offset(kvHead, position + 1));
    }

    /** Stores the keys and values of all KV heads at one position; k and v hold [kvHead][headDim]. */
    public void store(int layer, int position, float[] k, int kOffset, float[] v, int vOffset) {
        for (int h = 0; h < kvHeads; h++) {
            reclaim(layer, h, position);
            write(keys[layer], offset(h, position), k, kOffset + h * headDim);
            write(values[layer], offset(h, position), v, vOffset + h * headDim);
        }
    }

    private void write(MemorySegment seg, long off, float[] src, int srcOffset) {
        if (type == KVType.F32) {
            MemorySegment.copy(src, srcOffset, seg, F32, off, headDim);
        } else {
            for (int i = 0; i < headDim; i++) seg.set(F16, off + 2L * i, Float.floatToFloat16(src[srcOffset + i]));
        }
    }

    /** Writes [count][headDim] keys and values of one KV head at slots [from, from+count) (bulk fill for benchmarks). */
    public void write(int layer, int kvHead, int from, int count, float[] k, float[] v) {
        for (int t = 0; t < count; t++) {
            reclaim(layer, kvHead, from + t);
            write(keys[layer], offset(kvHead, from + t), k, t * headDim);
            write(values[layer], offset(kvHead, from + t), v, t * headDim);
        }
    }

    /** Decodes the keys of positions [from, from+count) of one KV head into dst as [count][headDim]. */
    public void readKeys(int layer, int kvHead, int from, int count, float[] dst, int dstOffset) {
        read(keys[layer], kvHead, from, count, dst, dstOffset);
    }

    public void readValues(int layer, int kvHead, int from, int count, float[] dst, int dstOffset) {
        read(values[layer], kvHead, from, count, dst, dstOffset);
    }

    /** The keys and the values of slots [from, from + count) of one KV head, into keysDst and valuesDst from index 0. */
    public void readKeysValues(int layer, int kvHead, int from, int count, float[] keysDst, float[] valuesDst) {
        if (type == KVType.F32) {
            readKeys(layer, kvHead, from, count, keysDst, 0);
            readValues(layer, kvHead, from, count, valuesDst, 0);
        } else {
            Float16.toFloat(keys[layer], values[layer], offset(kvHead, from), keysDst, valuesDst, count * headDim);
        }
    }

    private void read(MemorySegment seg, int kvHead, int from, int count, float[] dst, int dstOffset) {
        long off = offset(kvHead, from);
        int n = count * headDim;
        if (type == KVType.F32) {
            MemorySegment.copy(seg, F32, off, dst, dstOffset, n);
        } else {
            Float16.toFloat(seg, off, dst, dstOffset, n);
        }
    }

    /** Copies slots [from, from + count) of one KV head to [to, to + count), keys and values. */
    public void copySlots(int layer, int kvHead, int from, int to, int count) {
        long row = (long) headDim * type.bytes;
        MemorySegment.copy(keys[layer], offset(kvHead, from), keys[layer], offset(kvHead, to), count * row);
        MemorySegment.copy(values[layer], offset(kvHead, from), values[layer], offset(kvHead, to), count * row);
    }

    /** Reorders slots [from, from + order.length) of one KV head: new slot from+i takes old slot from+order[i]. */
    public void permute(int layer, int kvHead, int from, int[] order) {
        long row = (long) headDim * type.bytes;
        for (MemorySegment seg : new MemorySegment[]{keys[layer], values[layer]}) {
            MemorySegment region = seg.asSlice(offset(kvHead, from), order.length * row);
            byte[] copy = region.toArray(ValueLayout.JAVA_BYTE);
            for (int i = 0; i < order.length; i++) {
                MemorySegment.copy(copy, (int) (order[i] * row), region, ValueLayout.JAVA_BYTE, i * row, (int) row);
            }
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
