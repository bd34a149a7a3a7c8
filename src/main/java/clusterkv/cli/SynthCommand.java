package clusterkv.cli;

import clusterkv.gguf.GGUFFile;
import clusterkv.gguf.GGUFMetadata;
import clusterkv.model.ModelShape;
import clusterkv.model.SyntheticModel;
import clusterkv.model.WeightTypes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** Writes a random-weight GGUF with the exact tensor shapes of a named real model. */
@Command(name = "synth", description = "Write a random-weight GGUF with the tensor shapes of a real model (for offline benchmarks).")
final class SynthCommand implements Callable<Integer>, Validated {

    @Option(names = "--context-length", paramLabel = "N", description = "Override the shape's context length (to benchmark "
            + "longer contexts than the real model's, e.g. 1048576 with --kv-file).")
    Integer contextLength;

    @Option(names = "--shape", required = true, paramLabel = "NAME",
            description = "Model shape: tiny, tiny-llama3, tiny-qwen2, tiny-qwen3, llama-3.2-1b, llama-3.1-8b, qwen2.5-0.5b, qwen3-0.6b.")
    String shape;

    @Option(names = "--type", defaultValue = "q8_0", paramLabel = "TYPE",
            description = "Weight type: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k, q4_k_m or q5_k_m "
                    + "(llama.cpp's mixes: Q6_K for the output matrix and for attn_v and ffn_down in some layers, Q4_K or Q5_K for the rest; "
                    + "default: ${DEFAULT-VALUE}).")
    String type;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "Output GGUF file.")
    Path output;

    @Option(names = "--vocab", paramLabel = "FILE",
            description = "Take the tokenizer from this (vocab-only) GGUF; embedding and output take its vocabulary size. "
                    + "Default: a generated vocabulary of the shape's size.")
    Path vocab;

    @Option(names = "--vocab-size", paramLabel = "N", description = "Override the generated vocabulary's size.")
    Integer vocabSize;

    @Option(names = "--untied", description = "Write a separate output matrix even if the real model ties it to the embedding.")
    boolean untied;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the random weights (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    /** Larger than any real model's vocabulary (Qwen: 151,936); beyond, the generated one only exhausts memory. */
    static final int MAX_VOCAB = 1 << 20;

    @Override
    public void validate() {
        Validated.parse("--shape", () -> ModelShape.named(shape));
        if (contextLength != null) Validated.check(contextLength >= 1, "--context-length", ">= 1", contextLength);
        Validated.parse("--type", () -> WeightTypes.parse(type));
        if (vocabSize != null) Validated.check(vocabSize >= 300 && vocabSize <= MAX_VOCAB, "--vocab-size", "between 300 and " + MAX_VOCAB, vocabSize);
        Path parent = output.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) throw new IllegalArgumentException("no such directory: " + parent);
    }

    @Override
    public Integer call() throws Exception {
        ModelShape s = ModelShape.named(shape);
        if (vocabSize != null) s = s.withVocabSize(vocabSize);
        if (contextLength != null) s = s.withContextLength(contextLength);
        if (untied) s = s.untied();
        WeightTypes t = WeightTypes.parse(type);
        long start = System.nanoTime();
        String note;
        if (vocab != null) {
            try (GGUFFile v = GGUFFile.open(vocab)) {
                note = SyntheticModel.write(output, s, t, v.metadata(), seed);
            }
        } else {
            note = SyntheticModel.write(output, s, t, (GGUFMetadata) null, seed);
        }
        if (note != null) System.err.println("note: " + note);
        System.err.printf("wrote %s (%s, %s, %.1f MiB) in %.1f s%n", output, s.name(), t.name().toUpperCase(Locale.ROOT),
                Files.size(output) / 1048576.0, (System.nanoTime() - start) / 1e9);
        return 0;
    }
}
