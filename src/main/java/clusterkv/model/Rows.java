package clusterkv.model;

import clusterkv.kv.AttentionBackend;
import clusterkv.tensor.WeightMatrix;

/**
 * The activation rows of one forward pass and what differs with where they come from: each row's position,
 * how a weight matrix is applied to all rows (each weight read once either way), and how they attend. The
 * rest of the pass (norms, RoPE, SwiGLU, residuals) is the same per row whatever the rows are.
 */
sealed interface Rows {

    int count();

    /** The position of row t in its sequence (its RoPE angle). */
    int position(int t);

    /** y[t] = m . x[t] for the first n rows (x [n][m.cols], y [n][m.rows]). */
    void project(WeightMatrix m, float[] x, int n, float[] y);

    /** Stores each row's key and value in its sequence's cache and writes its attention output into b.att. */
    void attend(int layer, ForwardBuffers b);

    /** n consecutive tokens of one sequence from position p0: a decode step (n = 1) or a prefill chunk. */
    record Chunk(AttentionBackend attention, int p0, int count) implements Rows {
        @Override
        public int position(int t) {
            return p0 + t;
        }

        @Override
        public void project(WeightMatrix m, float[] x, int n, float[] y) {
            if (n == 1) m.matvec(x, y);
            else m.matmul(x, n, y);
        }

        @Override
        public void attend(int layer, ForwardBuffers b) {
            attention.attend(layer, b.q, b.k, b.v, b.att, p0, count);
        }
    }

    /**
     * The next token of each of n sequences (a batched decode step): row t is at positions[t] of the sequence
     * whose KV cache and policy are attention[t]. Projections are the decode kernels over all rows at once;
     * attention is one decode step per row, against that row's own cache.
     */
    record Batch(AttentionBackend[] attention, int[] positions, int count) implements Rows {
        @Override
        public int position(int t) {
            return positions[t];
        }

        @Override
        public void project(WeightMatrix m, float[] x, int n, float[] y) {
            m.matvecs(x, n, y);
        }

        /** Row by row through the one-token buffers: a backend reads its query and writes its output from index 0. */
        @Override
        public void attend(int layer, ForwardBuffers b) {
            int qd = b.rowQ.length, kvd = b.rowK.length;
            for (int t = 0; t < count; t++) {
                System.arraycopy(b.q, t * qd, b.rowQ, 0, qd);
                System.arraycopy(b.k, t * kvd, b.rowK, 0, kvd);
                System.arraycopy(b.v, t * kvd, b.rowV, 0, kvd);
                attention[t].attend(layer, b.rowQ, b.rowK, b.rowV, b.rowAtt, positions[t], 1);
                System.arraycopy(b.rowAtt, 0, b.att, t * qd, qd);
            }
        }
    }
}
