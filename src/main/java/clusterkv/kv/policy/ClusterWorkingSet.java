package clusterkv.kv.policy;

import clusterkv.cluster.ClusterIndex;
import clusterkv.kv.LayerKV;
import clusterkv.kv.Selection;

import java.util.Arrays;
import java.util.BitSet;

/**
 * ClusterKV's cache of recalled clusters (the paper's working set), for one selecting head: a region of spare
 * slots of its KV head that holds copies of the tokens it selected at the last step. At each step the clusters
 * chosen again stay where they are, those no longer chosen (or cut shorter) give their slots back, and only the
 * newly chosen tokens are copied in, into whatever slots are free: attention does not depend on the order of
 * the slots, so a cluster may lie in several pieces. The selection then reads the region in ascending order
 * rather than each cluster where it lies in the cache.
 *
 * <p>A chosen cluster's first {@code take} members are attended (the last chosen cluster is cut to fit the
 * budget); the working set holds exactly those, so the region never needs more than the cluster budget.
 */
final class ClusterWorkingSet {

    /** The region: slots [base, base + capacity) of the KV head. */
    private final int base, capacity;
    private final BitSet used = new BitSet();
    /** Live pieces: region slots [start, start + length) hold members [member, member + length) of cluster. */
    private int[] start = new int[16], length = new int[16], cluster = new int[16], member = new int[16];
    private int pieces;
    /** Per cluster: members [0, resident) are in the region (in one or more pieces). */
    private int[] resident = new int[0];
    /** Per cluster: the members this step attends to (0 when not chosen). */
    private int[] wanted = new int[0];
    private long[] order = new long[16];
    private long copiedSlots;

    ClusterWorkingSet(int base, int capacity) {
        this.base = base;
        this.capacity = capacity;
    }

    /** Forgets everything held (the index was rebuilt). */
    void clear() {
        used.clear();
        pieces = 0;
        Arrays.fill(resident, 0);
    }

    /** Tokens copied into the region so far. */
    long copiedSlots() {
        return copiedSlots;
    }

    /**
     * Makes the first take[i] members of each chosen[i] (i < n) resident, copying what is missing from the cluster's
     * slots (cluster c's members lie at sink + idx.offset(c) onwards), and adds the region's pieces to s.
     */
    void update(ClusterIndex idx, int sink, int[] chosen, int[] take, int n, LayerKV kv, int kvHead, Selection s) {
        grow(idx.clusterCount());
        for (int i = 0; i < n; i++) wanted[chosen[i]] = take[i];
        trim();
        int cursor = 0;
        for (int i = 0; i < n; i++) {
            int c = chosen[i];
            for (int m = resident[c]; m < take[i]; ) {
                int at = used.nextClearBit(cursor);
                int free = used.nextSetBit(at);
                int count = Math.min(take[i] - m, (free < 0 ? capacity : free) - at);
                if (at >= capacity || count <= 0) throw new IllegalStateException("working set of " + capacity + " slots overrun");
                kv.copySlots(kvHead, sink + idx.offset(c) + m, base + at, count);
                used.set(at, at + count);
                addPiece(at, count, c, m);
                copiedSlots += count;
                m += count;
                cursor = at + count;
            }
            resident[c] = take[i];
        }
        emit(idx, sink, s);
        for (int i = 0; i < n; i++) wanted[chosen[i]] = 0;
    }

    /** Gives back the slots of members no longer attended: pieces of clusters not chosen, and the tails of cut ones. */
    private void trim() {
        for (int p = 0; p < pieces; p++) resident[cluster[p]] = 0;
        int live = 0;
        for (int p = 0; p < pieces; p++) {
            int c = cluster[p];
            int keep = Math.clamp(wanted[c] - member[p], 0, length[p]);
            if (keep < length[p]) used.clear(start[p] + keep, start[p] + length[p]);
            if (keep == 0) continue;
            start[live] = start[p];
            length[live] = keep;
            cluster[live] = c;
            member[live] = member[p];
            live++;
        }
        pieces = live;
        for (int p = 0; p < pieces; p++) resident[cluster[p]] = Math.max(resident[cluster[p]], member[p] + length[p]);
    }

    /** The pieces in region order, each a copy of consecutive members of one cluster. */
    private void emit(ClusterIndex idx, int sink, Selection s) {
        if (order.length < pieces) order = new long[Math.max(pieces, 2 * order.length)];
        for (int p = 0; p < pieces; p++) order[p] = (long) start[p] << 32 | p;
        Arrays.sort(order, 0, pieces);
        for (int i = 0; i < pieces; i++) {
            int p = (int) order[i];
            s.add(base + start[p], base + start[p] + length[p], sink + idx.offset(cluster[p]) + member[p]);
        }
    }

    private void addPiece(int at, int count, int c, int m) {
        if (pieces == start.length) {
            int n = 2 * pieces;
            start = Arrays.copyOf(start, n);
            length = Arrays.copyOf(length, n);
            cluster = Arrays.copyOf(cluster, n);
            member = Arrays.copyOf(member, n);
        }
        start[pieces] = at;
        length[pieces] = count;
        cluster[pieces] = c;
        member[pieces] = m;
        pieces++;
    }

    private void grow(int clusters) {
        if (resident.length >= clusters) return;
        int n = Math.max(clusters, 2 * resident.length);
        resident = Arrays.copyOf(resident, n);
        wanted = Arrays.copyOf(wanted, n);
    }
}
