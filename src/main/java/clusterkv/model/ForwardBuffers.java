package clusterkv.model;

/** Activation buffers of the forward pass, sized for the largest chunk; reused across calls (no allocation per token). */
public final class ForwardBuffers {

    final float[] x, xb, q, k, v, att, gate, up;

    public ForwardBuffers(ModelConfig c, int maxChunk) {
        int n = maxChunk;
        x = new float[n * c.dim()];
        xb = new float[n * Math.max(c.dim(), c.queryDim())];
        q = new float[n * c.queryDim()];
        k = new float[n * c.kvDim()];
        v = new float[n * c.kvDim()];
        att = new float[n * c.queryDim()];
        gate = new float[n * c.ffnDim()];
        up = new float[n * c.ffnDim()];
    }
}
