package clusterkv.model;

import clusterkv.tensor.WeightMatrix;

/** The weights of one transformer block. Biases and Q/K norms are null where the architecture has none. */
public record LayerWeights(
        float[] attnNorm,
        WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo,
        float[] bq, float[] bk, float[] bv,
        float[] qNorm, float[] kNorm,
        float[] ffnNorm,
        WeightMatrix wGate, WeightMatrix wUp, WeightMatrix wDown) {

    /** The block's matrices: what one decode step reads from it. */
    public java.util.List<WeightMatrix> matrices() {
        return java.util.List.of(wq, wk, wv, wo, wGate, wUp, wDown);
    }
}
