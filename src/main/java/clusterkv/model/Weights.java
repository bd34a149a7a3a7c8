package clusterkv.model;

import clusterkv.gguf.GGUFFile;
import clusterkv.gguf.GGUFFormatException;
import clusterkv.gguf.GGUFTensor;
import clusterkv.tensor.WeightMatrix;

import java.util.ArrayList;
import java.util.List;

/**
 * All weights of a model, as views of the memory-mapped GGUF file (large matrices stay
 * on disk pages; only small vectors such as norms are copied to the heap as floats).
 *
 * @param ropeFrequencyFactors per-pair divisors of the RoPE frequencies (llama3 scaling), or null
 */
public record Weights(
        WeightMatrix tokenEmbedding,
        LayerWeights[] layers,
        float[] outputNorm,
        WeightMatrix output,
        float[] ropeFrequencyFactors) {

    public static Weights load(GGUFFile file, ModelConfig c) {
        // A block count the file has no tensors for is its error, not an allocation's: the name of its last layer, and
        // layers gathered as they are found, not an array of block_count made first (the last layer's tensor alone
        // would let a hostile file ask for billions of slots).
        String last = "blk." + (c.layers() - 1) + ".attn_norm.weight";
        if (file.tensor(last) == null) {
            throw new GGUFFormatException(c.architecture().ggufName + ".block_count is " + c.layers() + ", but tensor '" + last + "' is missing");
        }
        List<LayerWeights> layers = new ArrayList<>();
        for (int i = 0; i < c.layers(); i++) {
            String b = "blk." + i + ".";
            layers.add(new LayerWeights(
                    vector(file, b + "attn_norm.weight", c.dim()),
                    matrix(file, b + "attn_q.weight", c.queryDim(), c.dim()),
                    matrix(file, b + "attn_k.weight", c.kvDim(), c.dim()),
                    matrix(file, b + "attn_v.weight", c.kvDim(), c.dim()),
                    matrix(file, b + "attn_output.weight", c.dim(), c.queryDim()),
                    c.qkvBias() ? vector(file, b + "attn_q.bias", c.queryDim()) : null,
                    c.qkvBias() ? vector(file, b + "attn_k.bias", c.kvDim()) : null,
                    c.qkvBias() ? vector(file, b + "attn_v.bias", c.kvDim()) : null,
                    c.qkNorm() ? vector(file, b + "attn_q_norm.weight", c.headDim()) : null,
                    c.qkNorm() ? vector(file, b + "attn_k_norm.weight", c.headDim()) : null,
                    vector(file, b + "ffn_norm.weight", c.dim()),
                    matrix(file, b + "ffn_gate.weight", c.ffnDim(), c.dim()),
                    matrix(file, b + "ffn_up.weight", c.ffnDim(), c.dim()),
                    matrix(file, b + "ffn_down.weight", c.dim(), c.ffnDim())));
        }
        WeightMatrix embedding = matrix(file, "token_embd.weight", c.vocabSize(), c.dim());
        // Tied embeddings (Llama 3.2, Qwen small models): the output projection reuses the embedding table.
        WeightMatrix output = file.tensor("output.weight") != null
                ? matrix(file, "output.weight", c.vocabSize(), c.dim())
                : embedding;
        float[] ropeFactors = file.tensor("rope_freqs.weight") != null
                ? vector(file, "rope_freqs.weight", c.ropeDim() / 2)
                : null;
        return new Weights(embedding, layers.toArray(LayerWeights[]::new), vector(file, "output_norm.weight", c.dim()), output, ropeFactors);
    }

    private static WeightMatrix matrix(GGUFFile file, String name, int rows, int cols) {
        GGUFTensor t = file.requireTensor(name);
        if (t.shape().length > 2 || t.columns() != cols || t.rows() != rows) {
            throw new GGUFFormatException("tensor '" + name + "' has shape " + java.util.Arrays.toString(t.shape())
                    + ", expected [" + cols + ", " + rows + "]");
        }
        return WeightMatrix.of(t);
    }

    private static float[] vector(GGUFFile file, String name, int length) {
        GGUFTensor t = file.requireTensor(name);
        if (t.elementCount() != length) {
            throw new GGUFFormatException("tensor '" + name + "' has " + t.elementCount() + " values, expected " + length);
        }
        float[] out = new float[length];
        WeightMatrix.of(t).dequantizeRow(0, out, 0);
        return out;
    }
}
