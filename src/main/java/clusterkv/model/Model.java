package clusterkv.model;

import clusterkv.gguf.GGUFFile;
import clusterkv.gguf.GGUFFormatException;
import clusterkv.gguf.GGUFTensor;
import clusterkv.tensor.WeightMatrix;

import java.io.IOException;
import java.nio.file.Path;

/** A loaded model: its memory-mapped file, hyper-parameters and weights. Closing unmaps the file. */
public final class Model implements AutoCloseable {

    private final GGUFFile file;
    private final ModelConfig config;
    private final Weights weights;

    private Model(GGUFFile file, ModelConfig config, Weights weights) {
        this.file = file;
        this.config = config;
        this.weights = weights;
    }

    public static Model load(Path path) throws IOException {
        return from(GGUFFile.open(path));
    }

    /** The model of an opened file, checked for all the forward pass needs; the model owns the file (closed on failure too). */
    public static Model from(GGUFFile file) {
        try {
            ModelConfig config = ModelConfig.fromMetadata(file.metadata(), vocabSize(file));
            return new Model(file, config, Weights.load(file, config));
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /** The rows of the embedding table, which the token list (where the file has one) must match. */
    private static int vocabSize(GGUFFile file) {
        GGUFTensor embedding = file.requireTensor("token_embd.weight");
        long rows = embedding.rows();
        if (rows > Integer.MAX_VALUE) throw new GGUFFormatException("tensor 'token_embd.weight' has " + rows + " rows, too many");
        String[] tokens = file.metadata().getStrings("tokenizer.ggml.tokens");
        if (tokens != null && tokens.length != rows) {
            throw new GGUFFormatException("tokenizer.ggml.tokens has " + tokens.length + " tokens, but tensor 'token_embd.weight' has "
                    + rows + " rows (one per token)");
        }
        return (int) rows;
    }

    public GGUFFile file() { return file; }
    public ModelConfig config() { return config; }
    public Weights weights() { return weights; }

    /** Bytes of weights one decode step reads: everything but the embedding table, of which it reads one row. */
    public long weightBytesPerToken() {
        long total = 0;
        for (LayerWeights l : weights.layers()) {
            for (WeightMatrix m : l.matrices()) total += m.byteSize();
        }
        total += weights.output().byteSize();
        if (weights.output() != weights.tokenEmbedding()) total += weights.tokenEmbedding().byteSize() / config.vocabSize();
        return total;
    }

    @Override
    public void close() {
        for (LayerWeights l : weights.layers()) l.matrices().forEach(WeightMatrix::close);
        weights.output().close();
        weights.tokenEmbedding().close();
        file.close();
    }
}
