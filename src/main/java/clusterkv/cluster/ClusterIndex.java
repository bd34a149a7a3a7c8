package clusterkv.cluster;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * The clusters of one KV head's keys in CSR form: cluster c holds the tokens
 * {@code members[offsets[c] .. offsets[c+1])} (ascending), has {@code sizes[c]} of them and a centroid of
 * {@code dim} floats.
 *
 * <p>The prompt is clustered once ({@link #build}); during decoding each new window of tokens is clustered on
 * its own and its clusters are added after the existing ones ({@link #append}), so cluster ids and the CSR
 * layout of earlier clusters never change. Storage grows geometrically. Not thread-safe.
 *
 * <p>The centroids are stored transposed in blocks of {@link #LANES} clusters
 * ({@code packed[block][j][lane]}) rather than row-major: scoring them against a query at every decode step is
 * then one vector FMA per (block, component) with no horizontal sums, several times faster than a dot product
 * per cluster. Row-major copies are assembled on request.
 */
public final class ClusterIndex {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Clusters per block of the packed centroids: one vector. */
    static final int LANES = F.length();

    private final int dim;
    private int clusters;
    private int tokens;
    private int[] sizes = new int[16];
    /** offsets[0..clusters], offsets[0] = 0. */
    private int[] offsets = new int[17];
    private int[] members = new int[64];
    /** packed[(c / LANES) * dim * LANES + j * LANES + c % LANES] = centroid c, component j; zero past the last. */
    private float[] packed;
    /**
     * Per cluster the mean of its keys and the mean of its values, row-major [cluster][dim], for the estimation
     * zone; null until {@link #setMeans} is first called (a policy without the zone does not pay for them).
     */
    private float[] keyMeans, valueMeans;

    /** An empty index for keys of dimension {@code dim}. */
    public ClusterIndex(int dim) {
        if (dim < 1) throw new IllegalArgumentException("dim must be >= 1, got " + dim);
        this.dim = dim;
        this.packed = new float[paddedClusters(16) * dim];
    }

    /** The index of one K-means result over the tokens firstToken, firstToken + 1, ... */
    public static ClusterIndex build(KMeans.Result r, int firstToken) {
        ClusterIndex index = new ClusterIndex(r.dim());
        index.append(r, firstToken);
        return index;
    }

    /**
     * The index that {@link #centroids()}, {@link #sizes()} and {@link #members()} were read from, over the tokens
     * firstToken .. firstToken + members.length - 1 (a session file reopened). Members that are not a permutation
     * of those tokens, grouped by the sizes, are refused.
     */
    public static ClusterIndex restore(int dim, float[] centroids, int[] sizes, int[] members, int firstToken) {
        ClusterIndex index = new ClusterIndex(dim);
        if (sizes.length == 0 && members.length == 0) return index;
        if (centroids.length != sizes.length * dim) throw new IllegalStateException("cluster index: " + centroids.length + " centroid values for " + sizes.length + " clusters of " + dim);
        int[] assignment = new int[members.length];
        Arrays.fill(assignment, -1);
        int i = 0;
        for (int c = 0; c < sizes.length; c++) {
            if (sizes[c] < 0 || i + sizes[c] > members.length) throw new IllegalStateException("cluster index: sizes exceed the " + members.length + " members");
            for (int end = i + sizes[c]; i < end; i++) {
                int t = members[i] - firstToken;
                if (t < 0 || t >= members.length || assignment[t] >= 0) throw new IllegalStateException("cluster index: members are not a permutation of the clustered tokens");
                assignment[t] = c;
            }
        }
        if (i != members.length) throw new IllegalStateException("cluster index: the sizes cover " + i + " of " + members.length + " members");
        index.append(new KMeans.Result(centroids, assignment, sizes), firstToken);
        return index;
    }

    /**
     * Adds the clusters of r (over the tokens firstToken + i for the i-th clustered key) as new clusters
     * numbered from {@link #clusterCount()} on.
     */
    public void append(KMeans.Result r, int firstToken) {
        if (r.dim() != dim) throw new IllegalArgumentException("dimension " + r.dim() + " != " + dim);
        int k = r.clusters(), n = r.keys();
        checkSizes(r);
        ensureCapacity(clusters + k, tokens + n);
        for (int c = 0; c < k; c++) {
            int base = packedBase(clusters + c);
            for (int j = 0; j < dim; j++) packed[base + j * LANES] = r.centroids()[c * dim + j];
        }
        for (int c = 0; c < k; c++) {
            sizes[clusters + c] = r.sizes()[c];
            offsets[clusters + c + 1] = offsets[clusters + c] + r.sizes()[c];
        }
        // Counting sort: scanning positions in order leaves each cluster's members ascending.
        int[] next = Arrays.copyOfRange(offsets, clusters, clusters + k);
        int[] assignment = r.assignment();
        for (int i = 0; i < n; i++) members[next[assignment[i]]++] = firstToken + i;
        clusters += k;
        tokens += n;
    }

    /** The sizes must be the counts of the assignment, or the CSR fill above would overrun clusters. */
    private static void checkSizes(KMeans.Result r) {
        int[] counts = new int[r.clusters()];
        for (int c : r.assignment()) counts[c]++;
        if (!Arrays.equals(counts, r.sizes())) throw new IllegalArgumentException("sizes do not match the assignment");
    }

    private void ensureCapacity(int k, int n) {
        if (k > sizes.length) {
            int cap = Math.max(k, sizes.length * 2);
            sizes = Arrays.copyOf(sizes, cap);
            offsets = Arrays.copyOf(offsets, cap + 1);
            packed = Arrays.copyOf(packed, paddedClusters(cap) * dim);
            if (keyMeans != null) {
                keyMeans = Arrays.copyOf(keyMeans, cap * dim);
                valueMeans = Arrays.copyOf(valueMeans, cap * dim);
            }
        }
        if (n > members.length) members = Arrays.copyOf(members, Math.max(n, members.length * 2));
    }

    public int dim() {
        return dim;
    }

    public int clusterCount() {
        return clusters;
    }

    /** Tokens in all clusters. */
    public int tokenCount() {
        return tokens;
    }

    public int size(int cluster) {
        return sizes[cluster];
    }

    /** Where cluster c's members start in the cluster-contiguous order. */
    public int offset(int cluster) {
        return offsets[cluster];
    }

    /** The i-th token of the cluster-contiguous order (i in [0, tokenCount())). */
    public int member(int i) {
        return members[i];
    }

    /** Copies the first {@code count} members of a cluster (ascending tokens) to dst[dstOff..]. */
    public void copyMembers(int cluster, int count, int[] dst, int dstOff) {
        if (count > sizes[cluster]) throw new IllegalArgumentException(count + " > size " + sizes[cluster]);
        System.arraycopy(members, offsets[cluster], dst, dstOff, count);
    }

    /** Copies cluster c's centroid to dst[dstOff..dstOff+dim). */
    public void copyCentroid(int cluster, float[] dst, int dstOff) {
        int base = packedBase(cluster);
        for (int j = 0; j < dim; j++) dst[dstOff + j] = packed[base + j * LANES];
    }

    /** Sets cluster c's mean key and mean value (dim floats each, from the given offsets). */
    public void setMeans(int cluster, float[] keyMean, int keyOff, float[] valueMean, int valueOff) {
        if (cluster >= clusters) throw new IllegalArgumentException("no cluster " + cluster + " (" + clusters + " clusters)");
        if (keyMeans == null) {
            keyMeans = new float[sizes.length * dim];
            valueMeans = new float[sizes.length * dim];
        }
        System.arraycopy(keyMean, keyOff, keyMeans, cluster * dim, dim);
        System.arraycopy(valueMean, valueOff, valueMeans, cluster * dim, dim);
    }

    /** Whether {@link #setMeans} was called (then every cluster's means are expected to be set). */
    public boolean hasMeans() {
        return keyMeans != null;
    }

    /** The means, row-major [cluster][dim] (cluster c at c * dim); read-only views for the estimation zone. */
    public float[] keyMeans() {
        return keyMeans;
    }

    public float[] valueMeans() {
        return valueMeans;
    }

    /** A copy of the cluster sizes, [clusterCount()]. */
    public int[] sizes() {
        return Arrays.copyOf(sizes, clusters);
    }

    /** A copy of the prefix sums of the sizes, [clusterCount() + 1]. */
    public int[] offsets() {
        return Arrays.copyOf(offsets, clusters + 1);
    }

    /** A copy of the members, grouped by cluster, [tokenCount()]. */
    public int[] members() {
        return Arrays.copyOf(members, tokens);
    }

    /** A copy of the centroids, [clusterCount()][dim] row-major. */
    public float[] centroids() {
        float[] out = new float[clusters * dim];
        for (int c = 0; c < clusters; c++) copyCentroid(c, out, c * dim);
        return out;
    }

    /**
     * The tokens in cluster-contiguous order: entry i is the token to store at slot i when K/V are laid out
     * cluster by cluster (cluster c at slots offset(c) .. offset(c) + size(c)). The members array itself.
     */
    public int[] permutation() {
        return members();
    }

    /** Where centroid c starts in the packed layout (its components follow at a stride of LANES). */
    private int packedBase(int c) {
        return (c / LANES) * dim * LANES + c % LANES;
    }

    /** The cluster count rounded up to whole blocks: the length {@link #score} writes. */
    static int paddedClusters(int k) {
        return (k + LANES - 1) / LANES * LANES;
    }

    /**
     * out[c] = q[qOff..qOff+dim) . centroid c, for c in [0, paddedClusters(clusterCount())) (0 past the last
     * cluster). Four accumulators per block, so that the FMAs do not wait on each other.
     */
    public void score(float[] q, int qOff, float[] out) {
        for (int blk = 0, blocks = paddedClusters(clusters) / LANES; blk < blocks; blk++) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            int base = blk * dim * LANES, j = 0;
            for (; j + 4 <= dim; j += 4, base += 4 * LANES) {
                a0 = FloatVector.fromArray(F, packed, base).fma(FloatVector.broadcast(F, q[qOff + j]), a0);
                a1 = FloatVector.fromArray(F, packed, base + LANES).fma(FloatVector.broadcast(F, q[qOff + j + 1]), a1);
                a2 = FloatVector.fromArray(F, packed, base + 2 * LANES).fma(FloatVector.broadcast(F, q[qOff + j + 2]), a2);
                a3 = FloatVector.fromArray(F, packed, base + 3 * LANES).fma(FloatVector.broadcast(F, q[qOff + j + 3]), a3);
            }
            for (; j < dim; j++, base += LANES) {
                a0 = FloatVector.fromArray(F, packed, base).fma(FloatVector.broadcast(F, q[qOff + j]), a0);
            }
            a0.add(a1).add(a2.add(a3)).intoArray(out, blk * LANES);
        }
    }

    /**
     * score() for four query heads at once (head i at q[qOff + i * dim]) into o0..o3: each block of centroids is
     * read once for the four (a GQA group whose heads select each for itself), with per head the same
     * accumulators and order of additions as score(), so the same floats.
     */
    public void score4(float[] q, int qOff, float[] o0, float[] o1, float[] o2, float[] o3) {
        int q1 = qOff + dim, q2 = q1 + dim, q3 = q2 + dim;
        for (int blk = 0, blocks = paddedClusters(clusters) / LANES; blk < blocks; blk++) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            FloatVector c0 = a0, c1 = a0, c2 = a0, c3 = a0, e0 = a0, e1 = a0, e2 = a0, e3 = a0;
            int base = blk * dim * LANES, j = 0;
            for (; j + 4 <= dim; j += 4, base += 4 * LANES) {
                FloatVector k0 = FloatVector.fromArray(F, packed, base), k1 = FloatVector.fromArray(F, packed, base + LANES);
                FloatVector k2 = FloatVector.fromArray(F, packed, base + 2 * LANES), k3 = FloatVector.fromArray(F, packed, base + 3 * LANES);
                a0 = k0.fma(FloatVector.broadcast(F, q[qOff + j]), a0);
                a1 = k1.fma(FloatVector.broadcast(F, q[qOff + j + 1]), a1);
                a2 = k2.fma(FloatVector.broadcast(F, q[qOff + j + 2]), a2);
                a3 = k3.fma(FloatVector.broadcast(F, q[qOff + j + 3]), a3);
                b0 = k0.fma(FloatVector.broadcast(F, q[q1 + j]), b0);
                b1 = k1.fma(FloatVector.broadcast(F, q[q1 + j + 1]), b1);
                b2 = k2.fma(FloatVector.broadcast(F, q[q1 + j + 2]), b2);
                b3 = k3.fma(FloatVector.broadcast(F, q[q1 + j + 3]), b3);
                c0 = k0.fma(FloatVector.broadcast(F, q[q2 + j]), c0);
                c1 = k1.fma(FloatVector.broadcast(F, q[q2 + j + 1]), c1);
                c2 = k2.fma(FloatVector.broadcast(F, q[q2 + j + 2]), c2);
                c3 = k3.fma(FloatVector.broadcast(F, q[q2 + j + 3]), c3);
                e0 = k0.fma(FloatVector.broadcast(F, q[q3 + j]), e0);
                e1 = k1.fma(FloatVector.broadcast(F, q[q3 + j + 1]), e1);
                e2 = k2.fma(FloatVector.broadcast(F, q[q3 + j + 2]), e2);
                e3 = k3.fma(FloatVector.broadcast(F, q[q3 + j + 3]), e3);
            }
            for (; j < dim; j++, base += LANES) {
                FloatVector k0 = FloatVector.fromArray(F, packed, base);
                a0 = k0.fma(FloatVector.broadcast(F, q[qOff + j]), a0);
                b0 = k0.fma(FloatVector.broadcast(F, q[q1 + j]), b0);
                c0 = k0.fma(FloatVector.broadcast(F, q[q2 + j]), c0);
                e0 = k0.fma(FloatVector.broadcast(F, q[q3 + j]), e0);
            }
            a0.add(a1).add(a2.add(a3)).intoArray(o0, blk * LANES);
            b0.add(b1).add(b2.add(b3)).intoArray(o1, blk * LANES);
            c0.add(c1).add(c2.add(c3)).intoArray(o2, blk * LANES);
            e0.add(e1).add(e2.add(e3)).intoArray(o3, blk * LANES);
        }
    }

    /** The backing sizes array (valid for the first clusterCount() entries). */
    int[] sizeData() {
        return sizes;
    }
}
