package clusterkv.model;

import clusterkv.kv.AttentionBackend;
import clusterkv.tensor.WeightMatrix;

/**
 * The forward pass of a Llama-family decoder, for a chunk of n consecutive tokens: n = 1 is a
 * decode step (matrix-vector products), n > 1 a prefill chunk (matrix-matrix products that read
 * each weight once for the whole chunk). Attention is delegated to an {@link AttentionBackend},
 * which owns the KV cache and decides which positions each query reads.
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
        int dim = c.dim();
        for (int t = 0; t < n; t++) w.tokenEmbedding().dequantizeRow(tokens[from + t], b.x, t * dim);
        for (int layer = 0; layer < c.layers(); layer++) {
            LayerWeights lw = w.layers()[layer];
            attentionBlock(b, attention, lw, layer, n, p0);
            feedForwardBlock(b, lw, n);
        }
        int first = allLogits ? 0 : n - 1;
        int rows = n - first;
        rmsNorm(b.x, first * dim, b.xb, 0, w.outputNorm(), rows, dim);
        matmul(w.output(), b.xb, rows, logits);
    }

    private void attentionBlock(ForwardBuffers b, AttentionBackend attention, LayerWeights lw, int layer, int n, int p0) {
        int dim = c.dim();
        rmsNorm(b.x, 0, b.xb, 0, lw.attnNorm(), n, dim);
        matmul(lw.wq(), b.xb, n, b.q);
        matmul(lw.wk(), b.xb, n, b.k);
        matmul(lw.wv(), b.xb, n, b.v);
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
            rope.apply(b.q, qOff, c.heads(), p0 + t);
            rope.apply(b.k, kOff, c.kvHeads(), p0 + t);
        }
        attention.attend(layer, b.q, b.k, b.v, b.att, p0, n);
        matmul(lw.wo(), b.att, n, b.xb);
        addInPlace(b.x, b.xb, n * dim);
    }

    private void feedForwardBlock(ForwardBuffers b, LayerWeights lw, int n) {
        int dim = c.dim();
        int ffn = c.ffnDim();
        rmsNorm(b.x, 0, b.xb, 0, lw.ffnNorm(), n, dim);
        matmul(lw.wGate(), b.xb, n, b.gate);
        matmul(lw.wUp(), b.xb, n, b.up);
        for (int i = 0; i < n * ffn; i++) {
            float g = b.gate[i];
            b.gate[i] = g / (1f + (float) Math.exp(-g)) * b.up[i]; // SwiGLU: silu(gate) * up
        }
        matmul(lw.wDown(), b.gate, n, b.xb);
        addInPlace(b.x, b.xb, n * dim);
    }

    private static void matmul(WeightMatrix m, float[] x, int n, float[] y) {
        if (n == 1) m.matvec(x, y);
        else m.matmul(x, n, y);
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
