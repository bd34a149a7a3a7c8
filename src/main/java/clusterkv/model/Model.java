package clusterkv.model;

import clusterkv.gguf.GGUFFile;
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
        GGUFFile file = GGUFFile.open(path);
        try {
            int vocab = Math.toIntExact(file.requireTensor("token_embd.weight").rows());
            ModelConfig config = ModelConfig.fromMetadata(file.metadata(), vocab);
            return new Model(file, config, Weights.load(file, config));
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
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
