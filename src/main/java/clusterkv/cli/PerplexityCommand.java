package clusterkv.cli;

import clusterkv.generate.LanguageModel;
import clusterkv.generate.Perplexity;
import clusterkv.generate.SessionOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** Perplexity with llama.cpp's protocol (see {@link Perplexity}). */
@Command(name = "perplexity", description = "Print the perplexity of a text (llama.cpp's llama-perplexity protocol).")
final class PerplexityCommand implements Callable<Integer> {

    @Mixin
    ModelOptions options;

    @Option(names = {"-f", "--file"}, required = true, paramLabel = "FILE", description = "Text file (UTF-8).")
    Path file;

    @Override
    public Integer call() throws Exception {
        options.applyThreads();
        String text = Files.readString(file, StandardCharsets.UTF_8);
        try (LanguageModel lm = LanguageModel.load(options.resolveModel())) {
            int ctx = options.contextSize > 0 ? options.contextSize : lm.config().contextLength();
            Perplexity.Result r = Perplexity.compute(lm, text, SessionOptions.defaults().withContextSize(ctx).withKvType(options.kvType()),
                    (chunk, chunks, running) -> System.err.printf("[%d/%d] running PPL = %.4f%n", chunk, chunks, running));
            System.out.printf("PPL = %.4f +/- %.5f (%d chunks of %d tokens, %d predictions scored)%n",
                    r.ppl(), r.standardError(), r.chunks(), ctx, r.scored());
        }
        return 0;
    }
}
