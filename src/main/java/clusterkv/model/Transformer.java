package clusterkv.model;

import clusterkv.kv.AttentionBackend;
import clusterkv.tensor.VectorMath;

/**
 * The forward pass of a Llama-family decoder over n rows of activations: a chunk of n consecutive tokens of one
 * sequence (n = 1 is a decode step, matrix-vector products; n > 1 a prefill chunk, matrix-matrix products that
 * read each weight once for the whole chunk), or the next token of each of n sequences (a batched decode step,
 * weights read once for all of them). Attention is delegated to an {@link AttentionBackend} per sequence, which
 * owns its KV cache and decides which positions each query reads.
 */
public final class Transformer {

    private final ModelConfig c;
    private final Weights w;
    private final Rope rope;

    public Transformer(Model model) {
        this.c = model.config();
        this.w = model.weights();
        this.rope = new Rope(c, w.ropeFrequencyFactors());
    }

    public ModelConfig config() {
        return c;
    }

    /**
     * Runs tokens[from .. from+n) at positions p0 .. p0+n-1 and writes logits into {@code logits}:
     * for every token ([n][vocab]) when allLogits, else only for the last ([vocab]).
     */
    public void forward(ForwardBuffers b, AttentionBackend attention, int[] tokens, int from, int n, int p0,
                        float[] logits, boolean allLogits) {
        run(b, new Rows.Chunk(attention, p0, n), tokens, from, logits, allLogits ? 0 : n - 1);
    }

    /**
     * A batched decode step: row t is token tokens[t] at position positions[t] of the sequence whose KV cache and
     * policy are attention[t] (n different sequences). Writes logits [n][vocab]; each row's are those of a
     * {@link #forward} of its token alone, within the limits given at {@link clusterkv.tensor.WeightMatrix#matvecs}.
     * The buffers must hold n rows.
     */
    public void forwardBatch(ForwardBuffers b, AttentionBackend[] attention, int[] tokens, int[] positions, int n, float[] logits) {
        if (n > b.maxRows) throw new IllegalArgumentException(n + " rows do not fit in buffers of " + b.maxRows);
        run(b, new Rows.Batch(attention, positions, n), tokens, 0, logits, 0);
    }

    /** The pass over the rows; logits for rows firstLogits .. count-1. */
    private void run(ForwardBuffers b, Rows rows, int[] tokens, int from, float[] logits, int firstLogits) {
        int dim = c.dim();
        for (int t = 0; t < rows.count(); t++) w.tokenEmbedding().dequantizeRow(tokens[from + t], b.x, t * dim);
        for (int layer = 0; layer < c.layers(); layer++) {
            LayerWeights lw = w.layers()[layer];
            attentionBlock(b, rows, lw, layer);
            feedForwardBlock(b, rows, lw);
        }
        int n = rows.count() - firstLogits;
        rmsNorm(b.x, firstLogits * dim, b.xb, 0, w.outputNorm(), n, dim);
        rows.project(w.output(), b.xb, n, logits);
    }

    private void attentionBlock(ForwardBuffers b, Rows rows, LayerWeights lw, int layer) {
        int dim = c.dim();
        int n = rows.count();
        rmsNorm(b.x, 0, b.xb, 0, lw.attnNorm(), n, dim);
        rows.project(lw.wq(), b.xb, n, b.q);
        rows.project(lw.wk(), b.xb, n, b.k);
        rows.project(lw.wv(), b.xb, n, b.v);
        for (int t = 0; t < n; t++) {
            int qOff = t * c.queryDim();
            int kOff = t * c.kvDim();
            if (lw.bq() != null) {
                addInPlace(b.q, qOff, lw.bq());
                addInPlace(b.k, kOff, lw.bk());
                addInPlace(b.v, kOff, lw.bv());
            }
            if (lw.qNorm() != null) {
                rmsNorm(b.q, qOff, b.q, qOff, lw.qNorm(), c.heads(), c.headDim());
                rmsNorm(b.k, kOff, b.k, kOff, lw.kNorm(), c.kvHeads(), c.headDim());
            }
            rope.apply(b.q, qOff, c.heads(), rows.position(t));
            rope.apply(b.k, kOff, c.kvHeads(), rows.position(t));
        }
        rows.attend(layer, b);
        rows.project(lw.wo(), b.att, n, b.xb);
        addInPlace(b.x, b.xb, n * dim);
    }

    private void feedForwardBlock(ForwardBuffers b, Rows rows, LayerWeights lw) {
        int dim = c.dim();
        int ffn = c.ffnDim();
        int n = rows.count();
        rmsNorm(b.x, 0, b.xb, 0, lw.ffnNorm(), n, dim);
        rows.project(lw.wGate(), b.xb, n, b.gate);
        rows.project(lw.wUp(), b.xb, n, b.up);
        VectorMath.swiglu(b.gate, b.up, n * ffn);
        rows.project(lw.wDown(), b.gate, n, b.xb);
        addInPlace(b.x, b.xb, n * dim);
    }

    /** RMSNorm of `rows` consecutive vectors of `size` values (in place when in == out). */
    private void rmsNorm(float[] in, int inOff, float[] out, int outOff, float[] weight, int rows, int size) {
        for (int r = 0; r < rows; r++) {
            int i0 = inOff + r * size;
            int o0 = outOff + r * size;
            double ss = 0;
            for (int i = 0; i < size; i++) ss += in[i0 + i] * in[i0 + i];
            float scale = (float) (1.0 / Math.sqrt(ss / size + c.rmsEps()));
            for (int i = 0; i < size; i++) out[o0 + i] = in[i0 + i] * scale * weight[i];
        }
    }

    private static void addInPlace(float[] x, float[] y, int n) {
        for (int i = 0; i < n; i++) x[i] += y[i];
    }

    private static void addInPlace(float[] x, int off, float[] bias) {
        for (int i = 0; i < bias.length; i++) x[off + i] += bias[i];
    }
}
