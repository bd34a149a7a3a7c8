package clusterkv.model;

/**
 * Activation buffers of the forward pass, sized for the largest chunk (or batch of sequences); reused across
 * calls (no allocation per token).
 */
public final class ForwardBuffers {

    final int maxRows;
    final float[] x, xb, q, k, v, att, gate, up;
    /** One row's query, key, value and attention output: a batched decode step attends row by row. */
    final float[] rowQ, rowK, rowV, rowAtt;

    public ForwardBuffers(ModelConfig c, int maxChunk) {
        int n = maxChunk;
        maxRows = n;
        x = new float[n * c.dim()];
        xb = new float[n * Math.max(c.dim(), c.queryDim())];
        q = new float[n * c.queryDim()];
        k = new float[n * c.kvDim()];
        v = new float[n * c.kvDim()];
        att = new float[n * c.queryDim()];
        gate = new float[n * c.ffnDim()];
        up = new float[n * c.ffnDim()];
        rowQ = new float[c.queryDim()];
        rowK = new float[c.kvDim()];
        rowV = new float[c.kvDim()];
        rowAtt = new float[c.queryDim()];
    }
}
