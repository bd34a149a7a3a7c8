package clusterkv.kv;

import java.lang.foreign.Arena;
import clusterkv.tensor.OsMemory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.function.LongFunction;

/**
 * Keys and values of every layer, off-heap, each in its {@link KVType} ({@link KVPlane}). Per layer the layout is
 * [kvHead][position][headDim]: one KV head's keys for consecutive positions are contiguous, so scanning,
 * clustering and gathering one head reads memory sequentially. Freed by {@link #close()}.
 */
public final class KVCache implements AutoCloseable {

    public final int layers;
    public final int kvHeads;
    public final int headDim;
    public final int capacity;
    /** Per KV head, slots after the capacity that a policy uses as its own working space (ClusterKV's working set). */
    public final int spareSlots;
    public final KVFormat format;
    /** The rotation applied to queries and keys before they reach the cache, or null (see {@link KVFormat#rotate}). */
    public final HeadRotation rotation;
    /** Whether the cache lives in a file (--kv-file, a session file) whose pages the OS brings in on demand: see {@link #prefetch}. */
    public final boolean paged;
    /** Layers to be read in scattered runs once decoding starts ({@link #readSparsely}). */
    private final java.util.BitSet sparseLayers = new java.util.BitSet();
    private long storageReadAtLastStep = -1;
    /** What holds the planes' memory: an arena, or a mapped session file. */
    private final AutoCloseable memory;
    private final KVPlane keys;
    private final KVPlane values;

    /** The two planes, for whoever saves or maps a cache (a session file): the keys, or the values. */
    public enum Part { KEYS, VALUES }

    public KVCache(int layers, int kvHeads, int headDim, int capacity, KVType type) {
        this(layers, kvHeads, headDim, capacity, KVFormat.of(type), 0);
    }

    public KVCache(int layers, int kvHeads, int headDim, int capacity, KVType type, int spareSlots) {
        this(layers, kvHeads, headDim, capacity, KVFormat.of(type), spareSlots);
    }

    public KVCache(int layers, int kvHeads, int headDim, int capacity, KVFormat format, int spareSlots) {
        this(layers, kvHeads, headDim, capacity, format, spareSlots, (Path) null);
    }

    /**
     * A cache in memory, or with {@code file} set in a file that the OS pages in and out ({@link KVFile}: a new
     * file at that path, or in that directory, removed at once and gone with the cache).
     */
    public KVCache(int layers, int kvHeads, int headDim, int capacity, KVFormat format, int spareSlots, Path file) {
        format.check(headDim);
        int slotsPerHead = capacity + spareSlots;
        Arena arena = Arena.ofShared();
        KVPlane keys, values;
        try {
            LongFunction<MemorySegment> pages;
            if (file == null) {
                pages = bytes -> OsMemory.allocate(arena, bytes);
            } else {
                long perLayer = KVPlane.layerBytes(format.keys(), kvHeads, headDim, slotsPerHead) + KVPlane.layerBytes(format.values(), kvHeads, headDim, slotsPerHead);
                pages = KVFile.map(arena, file, KVFile.pagesFor(perLayer, layers) + 2L * layers * OsMemory.PAGE)::take;
            }
            keys = new KVPlane(pages, format.keys(), layers, kvHeads, headDim, slotsPerHead);
            values = new KVPlane(pages, format.values(), layers, kvHeads, headDim, slotsPerHead);
        } catch (IOException e) {
            arena.close();
            throw new UncheckedIOException(e);
        } catch (OutOfMemoryError | RuntimeException e) {
            arena.close();
            long bytes = (long) slotsPerHead * layers * kvHeads * format.slotBytes(headDim);
            throw new KVCacheAllocationException("cannot allocate the KV cache (" + (bytes >> 20) + " MiB for "
                    + capacity + " positions): lower the context size with -c", e);
        }
        this(layers, kvHeads, headDim, capacity, format, spareSlots, keys, values, arena, file != null);
    }

    /**
     * A cache over existing memory, per layer one segment of keys and one of values of exactly {@link #layerBytes}
     * bytes each (a session file's copy-on-write mapping, whose pages come in as attention reads them); closing the
     * cache closes {@code memory}.
     */
    public KVCache(int layers, int kvHeads, int headDim, int capacity, KVFormat format, int spareSlots,
                   MemorySegment[] keyLayers, MemorySegment[] valueLayers, AutoCloseable memory) {
        format.check(headDim);
        if (keyLayers.length != layers || valueLayers.length != layers) throw new IllegalArgumentException("need " + layers + " layers of keys and values");
        this(layers, kvHeads, headDim, capacity, format, spareSlots, new KVPlane(format.keys(), kvHeads, headDim, capacity + spareSlots, keyLayers),
                new KVPlane(format.values(), kvHeads, headDim, capacity + spareSlots, valueLayers), memory, true);
    }

    private KVCache(int layers, int kvHeads, int headDim, int capacity, KVFormat format, int spareSlots,
                    KVPlane keys, KVPlane values, AutoCloseable memory, boolean paged) {
        this.layers = layers;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.capacity = capacity;
        this.spareSlots = spareSlots;
        this.format = format;
        this.rotation = format.rotate() ? new HeadRotation(headDim) : null;
        this.keys = keys;
        this.values = values;
        this.memory = memory;
        this.paged = paged;
    }

    private KVPlane plane(Part part) {
        return part == Part.KEYS ? keys : values;
    }

    /** Bytes of one layer's keys or values: [kvHead][capacity + spare slots][one head vector in the part's type]. */
    public long layerBytes(Part part) {
        return KVPlane.layerBytes(plane(part).type, kvHeads, headDim, capacity + spareSlots);
    }

    /** Copies positions [0, length) of every KV head of one layer's keys or values to the same offsets of dst. */
    public void copyUsed(Part part, int layer, int length, MemorySegment dst) {
        plane(part).copyUsed(layer, kvHeads, length, dst);
    }

    /** Bytes held for the whole capacity and the spare slots, keys and values of all layers. */
    public long byteSize() {
        return (long) (capacity + spareSlots) * bytesPerPosition();
    }

    /** Bytes of one position, keys and values of all layers. */
    public long bytesPerPosition() {
        return (long) layers * kvHeads * format.slotBytes(headDim);
    }

    /** Bytes of one slot of one KV head in one layer: a key and a value. */
    public long slotBytes() {
        return format.slotBytes(headDim);
    }

    /**
     * Gives back to the OS the whole pages that lie inside slots [from, to) of one KV head, keys and values
     * (slots an eviction policy will never read again). The range stays valid: a later store re-populates a page.
     */
    public void release(int layer, int kvHead, int from, int to) {
        if (to <= from) return;
        keys.release(layer, kvHead, from, to);
        values.release(layer, kvHead, from, to);
    }

    /**
     * In a file-backed cache, the layer is read in scattered runs (a sparse policy's selections): a fault there reads
     * its page, not the device's read-ahead window around it (8 MB here: ClusterKV read 24 GB per token of a 34 GB
     * file), and reads ask for their ranges ahead with {@link #prefetch}. Takes effect at the first decode step
     * ({@link #stepStarts}). Layers read whole at every step (dense layers, full attention) keep the OS's read-ahead.
     */
    public void readSparsely(int layer) {
        if (paged) sparseLayers.set(layer);
    }

    /**
     * A decode step starts: prefetching is on while the last step read from storage (the first step included), off
     * while everything was in memory, where asking for resident pages costs a page-table walk per call for nothing.
     */
    public void stepStarts() {
        if (!paged) return;
        if (!sparseLayers.isEmpty()) {
            // from the first decode step on: filling and indexing the prompt read whole runs, which read-ahead serves
            // well (a 1M-token synthetic fill took 134 s with it, 474 s without)
            sparseLayers.stream().forEach(l -> {
                keys.readScattered(l);
                values.readScattered(l);
            });
            sparseLayers.clear();
        }
        long read = OsMemory.storageBytesRead();
        keys.prefetching(read != storageReadAtLastStep); // for prefetch() and for the planes' own reads alike
        values.prefetching(read != storageReadAtLastStep);
        storageReadAtLastStep = read;
    }

    /**
     * Slots [from, to) of one KV head of a scattered layer are about to be read: asks the OS to start reading their
     * keys and values in, so that a step's selections come in together instead of faulting one page at a time.
     */
    public void prefetch(int layer, int kvHead, int from, int to) {
        if (!paged) return;
        keys.willNeed(layer, kvHead, from, to);
        values.willNeed(layer, kvHead, from, to);
    }

    /** Bytes of keys and values given back to the OS by {@link #release} and not stored to since. */
    public long releasedBytes() {
        return keys.releasedBytes() + values.releasedBytes();
    }

    /**
     * The session was rewound to {@code position}: pages holding slots from there on count as held again (they
     * are rewritten before they are read), so that the bytes held stay those of positions [0, position).
     */
    public void rewound(int position) {
        keys.rewound(position, kvHeads);
        values.rewound(position, kvHeads);
    }

    /**
     * Stores the keys and values of positions [p0, p0 + n): k and v hold [n][kvHead][headDim]. With a rotated
     * format the keys are rotated first, in k itself (the caller's scratch).
     */
    public void store(int layer, int p0, int n, float[] k, float[] v) {
        if (rotation != null) rotation.apply(k, 0, n * kvHeads);
        for (int t = 0; t < n; t++) store(layer, p0 + t, k, t * kvHeads * headDim, v, t * kvHeads * headDim);
    }

    /**
     * Brings {@code n} queries ([n][heads][headDim] at q[0..]) in place to the form in which they meet the keys:
     * rotated as the keys were, then rounded as llama.cpp rounds them for the key type ({@link KVType#roundQuery}).
     */
    public void prepareQueries(float[] q, int n, int heads) {
        if (rotation != null) rotation.apply(q, 0, n * heads);
        format.keys().roundQuery(q, 0, n * heads * headDim);
    }

    /** Stores the keys and values of all KV heads at one position; k and v hold [kvHead][headDim]. */
    public void store(int layer, int position, float[] k, int kOffset, float[] v, int vOffset) {
        for (int h = 0; h < kvHeads; h++) {
            keys.write(layer, h, position, 1, k, kOffset + h * headDim);
            values.write(layer, h, position, 1, v, vOffset + h * headDim);
        }
    }

    /** Writes [count][headDim] keys and values of one KV head at slots [from, from+count) (bulk fill for benchmarks). */
    public void write(int layer, int kvHead, int from, int count, float[] k, float[] v) {
        keys.write(layer, kvHead, from, count, k, 0);
        values.write(layer, kvHead, from, count, v, 0);
    }

    /** Decodes the keys of positions [from, from+count) of one KV head into dst as [count][headDim]. */
    public void readKeys(int layer, int kvHead, int from, int count, float[] dst, int dstOffset) {
        keys.read(layer, kvHead, from, count, dst, dstOffset);
    }

    public void readValues(int layer, int kvHead, int from, int count, float[] dst, int dstOffset) {
        values.read(layer, kvHead, from, count, dst, dstOffset);
    }

    /** The keys and the values of slots [from, from + count) of one KV head, into keysDst and valuesDst from index 0. */
    public void readKeysValues(int layer, int kvHead, int from, int count, float[] keysDst, float[] valuesDst) {
        if (keys.type == values.type) {
            prefetch(layer, kvHead, from, from + count);
            keys.type.kernel.dequantizePair(keys.layer(layer), values.layer(layer), keys.offset(kvHead, from), keysDst, valuesDst, count * headDim);
        } else {
            readKeys(layer, kvHead, from, count, keysDst, 0);
            readValues(layer, kvHead, from, count, valuesDst, 0);
        }
    }

    /** Copies slots [from, from + count) of one KV head to [to, to + count), keys and values. */
    public void copySlots(int layer, int kvHead, int from, int to, int count) {
        keys.copy(layer, kvHead, from, to, count);
        values.copy(layer, kvHead, from, to, count);
    }

    /** Reorders slots [from, from + order.length) of one KV head: new slot from+i takes old slot from+order[i]. */
    public void permute(int layer, int kvHead, int from, int[] order) {
        keys.permute(layer, kvHead, from, order);
        values.permute(layer, kvHead, from, order);
    }

    @Override
    public void close() {
        try {
            memory.close();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("cannot free the KV cache: " + e.getMessage(), e);
        }
    }
}
