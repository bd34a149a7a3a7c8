package clusterkv.kv;

import clusterkv.tensor.OsMemory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.BitSet;
import java.util.function.LongFunction;

/**
 * The keys, or the values, of every layer in one {@link KVType}: per layer [kvHead][slot][one head vector in the
 * type's blocks], so that one KV head's consecutive slots are contiguous bytes. Keys and values are two planes
 * because their types may differ (a q4_0 key beside an f16 value), and with them the bytes of a slot and the
 * pages that a range of slots covers.
 */
final class KVPlane {

    final KVType type;
    /** Bytes of one slot: one head vector in the plane's type. */
    final long rowBytes;
    private final int headDim;
    private final int slotsPerHead;
    private final MemorySegment[] layers;
    /**
     * Per layer, in a file: read in scattered runs (a sparse policy's layers), so the mapping reads no more than each
     * fault asks for and every read asks for its range first ({@link KVCache#readSparsely}).
     */
    private final boolean[] scattered;
    /** Whether reads of scattered layers ask the OS for their pages ahead ({@link KVCache#stepStarts} decides). */
    private boolean prefetching = true;
    /** Per layer: the pages (counted from the start of the layer's segment) given back to the OS. */
    private final BitSet[] released;
    private long releasedBytes;

    /** A plane whose layers come from {@code memory}, given their size (page-aligned memory, backed as it is written). */
    KVPlane(LongFunction<MemorySegment> memory, KVType type, int layers, int kvHeads, int headDim, int slotsPerHead) {
        this(type, headDim, slotsPerHead, new MemorySegment[layers]);
        for (int l = 0; l < layers; l++) this.layers[l] = memory.apply(layerBytes(type, kvHeads, headDim, slotsPerHead));
    }

    /** A plane over given memory (a mapped file): one segment per layer of exactly {@link #layerBytes} bytes. */
    KVPlane(KVType type, int kvHeads, int headDim, int slotsPerHead, MemorySegment[] layers) {
        this(type, headDim, slotsPerHead, layers.clone());
        for (MemorySegment m : layers) {
            if (m.byteSize() != layerBytes(type, kvHeads, headDim, slotsPerHead)) {
                throw new IllegalArgumentException("a layer of the " + type + " plane needs " + layerBytes(type, kvHeads, headDim, slotsPerHead) + " bytes, not " + m.byteSize());
            }
        }
    }

    private KVPlane(KVType type, int headDim, int slotsPerHead, MemorySegment[] layers) {
        this.type = type;
        this.headDim = headDim;
        this.rowBytes = type.rowBytes(headDim);
        this.slotsPerHead = slotsPerHead;
        this.layers = layers;
        this.released = new BitSet[layers.length];
        for (int l = 0; l < layers.length; l++) released[l] = new BitSet();
        this.scattered = new boolean[layers.length];
    }

    static long layerBytes(KVType type, int kvHeads, int headDim, int slotsPerHead) {
        return (long) kvHeads * slotsPerHead * type.rowBytes(headDim);
    }

    /** Copies slots [0, slots) of every KV head of a layer to the same offsets of dst (a layer's worth of bytes). */
    void copyUsed(int layer, int kvHeads, int slots, MemorySegment dst) {
        for (int h = 0; h < kvHeads; h++) MemorySegment.copy(layers[layer], offset(h, 0), dst, offset(h, 0), slots * rowBytes);
    }

    long offset(int kvHead, int slot) {
        return ((long) kvHead * slotsPerHead + slot) * rowBytes;
    }

    MemorySegment layer(int layer) {
        return layers[layer];
    }

    /** Encodes {@code count} head vectors from src[srcOffset ..] into slots [slot, slot + count) of a KV head. */
    void write(int layer, int kvHead, int slot, int count, float[] src, int srcOffset) {
        reclaim(layer, offset(kvHead, slot), offset(kvHead, slot + count));
        type.kernel.quantize(src, srcOffset, count * headDim, layers[layer], offset(kvHead, slot));
    }

    /** The layer is read in scattered runs: no read-around on faults (see {@link OsMemory#adviseRandom}). */
    void readScattered(int layer) {
        scattered[layer] = true;
        OsMemory.adviseRandom(layers[layer]);
    }

    /** Decodes slots [slot, slot + count) of a KV head into dst[dstOffset ..] as [count][headDim] floats. */
    void read(int layer, int kvHead, int slot, int count, float[] dst, int dstOffset) {
        willNeed(layer, kvHead, slot, slot + count);
        type.kernel.dequantize(layers[layer], offset(kvHead, slot), dst, dstOffset, count * headDim);
    }

    void copy(int layer, int kvHead, int from, int to, int count) {
        willNeed(layer, kvHead, from, from + count);
        MemorySegment.copy(layers[layer], offset(kvHead, from), layers[layer], offset(kvHead, to), count * rowBytes);
    }

    void permute(int layer, int kvHead, int from, int[] order) {
        willNeed(layer, kvHead, from, from + order.length);
        MemorySegment region = layers[layer].asSlice(offset(kvHead, from), order.length * rowBytes);
        byte[] copy = region.toArray(ValueLayout.JAVA_BYTE);
        for (int i = 0; i < order.length; i++) {
            MemorySegment.copy(copy, (int) (order[i] * rowBytes), region, ValueLayout.JAVA_BYTE, i * rowBytes, (int) rowBytes);
        }
    }

    /** In a layer read in scattered runs, while prefetching: asks the OS to start reading slots [from, to) of one KV head in. */
    void willNeed(int layer, int kvHead, int from, int to) {
        if (prefetching && scattered[layer] && to > from) OsMemory.willNeed(layers[layer].address() + offset(kvHead, from), (to - from) * rowBytes);
    }

    void prefetching(boolean on) {
        prefetching = on;
    }

    /** Gives back to the OS the whole pages inside slots [from, to) of one KV head. */
    void release(int layer, int kvHead, int from, int to) {
        BitSet bits = released[layer];
        long start = layers[layer].address();
        for (int p = (int) Math.ceilDiv(offset(kvHead, from), OsMemory.PAGE), last = (int) (offset(kvHead, to) / OsMemory.PAGE); p < last; ) {
            if (bits.get(p)) {
                p++;
                continue;
            }
            int q = bits.nextSetBit(p);
            q = q < 0 || q > last ? last : q;
            if (OsMemory.release(start + p * OsMemory.PAGE, q - p)) {
                bits.set(p, q);
                releasedBytes += (q - p) * OsMemory.PAGE;
            }
            p = q;
        }
    }

    long releasedBytes() {
        return releasedBytes;
    }

    /** Pages holding slots [from, slotsPerHead) of every KV head count as held again (they are rewritten before they are read). */
    void rewound(int slot, int kvHeads) {
        for (int layer = 0; layer < layers.length; layer++) {
            for (int h = 0; h < kvHeads && !released[layer].isEmpty(); h++) reclaim(layer, offset(h, slot), offset(h, slotsPerHead));
        }
    }

    /** Stores into released pages bring them back (the OS supplies zeroed pages; the slots are written now). */
    private void reclaim(int layer, long fromOffset, long toOffset) {
        BitSet bits = released[layer];
        if (bits.isEmpty()) return;
        for (int p = bits.nextSetBit((int) (fromOffset / OsMemory.PAGE)); p >= 0 && p <= (toOffset - 1) / OsMemory.PAGE; p = bits.nextSetBit(p + 1)) {
            bits.clear(p);
            releasedBytes -= OsMemory.PAGE;
        }
    }
}
