package clusterkv.cli;

import clusterkv.generate.LanguageModel;
import clusterkv.generate.Perplexity;
import clusterkv.generate.SessionOptions;
import clusterkv.kv.KVStats;
import com.fasterxml.jackson.databind.ObjectMapper;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * Perplexity with llama.cpp's protocol (see {@link Perplexity}); with a policy other than full, the
 * scored half of each chunk is decoded one token at a time through the policy (sparse-decoding perplexity).
 */
@Command(name = "perplexity", description = "Print the perplexity of a text (llama.cpp's llama-perplexity protocol; sparse decoding with --kv-policy).")
final class PerplexityCommand implements Callable<Integer>, Validated {

    @Mixin
    ModelOptions options;

    @Mixin
    PolicyOptions policy;

    @Option(names = {"-f", "--file"}, required = true, paramLabel = "FILE", description = "Text file (UTF-8).")
    Path file;

    @Option(names = "--json", description = "Print one JSON object {ppl, n_scored, policy, budget, ctx, kv_stats}.")
    boolean json;

    /** Each chunk scores its second half but the last token: ctx - 1 - ctx/2 predictions, none below 3. */
    static final int MIN_CONTEXT = 3;

    @Override
    public void validate() {
        int c = options.contextSize;
        Validated.check(c == 0 || c >= MIN_CONTEXT, "--ctx-size", "0 (the model's) or >= " + MIN_CONTEXT
                + " for perplexity (each chunk's first half is context, the rest is scored)", c);
    }

    @Override
    public Integer call() throws Exception {
        options.applyThreads();
        String text = TextFiles.readUtf8(file);
        try (LanguageModel lm = LanguageModel.load(options.resolveModel())) {
            int ctx = options.contextSize > 0 ? options.contextSize : lm.config().contextLength();
            SessionOptions session = policy.apply(options.session().withContextSize(ctx));
            KVStats stats = policy.kvStats && session.sparse() ? new KVStats(lm.config().layers()) : null;
            Perplexity.Result r = Perplexity.compute(lm, text, session,
                    (chunk, chunks, running) -> System.err.printf("[%d/%d] running PPL = %.4f%n", chunk, chunks, running), stats);
            System.out.printf("PPL = %.4f +/- %.5f (%d chunks of %d tokens, %d predictions scored, kv-policy %s, budget %d)%n",
                    r.ppl(), r.standardError(), r.chunks(), ctx, r.scored(), session.kvPolicy(), session.policyConfig().budget());
            if (stats != null) KVStatsReport.print(stats.toMap());
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("ppl", r.ppl());
                m.put("n_scored", r.scored());
                m.put("policy", session.kvPolicy());
                m.put("budget", session.policyConfig().budget());
                m.put("ctx", ctx);
                m.put("kv_stats", stats == null ? null : stats.toMap());
                System.out.println(new ObjectMapper().writeValueAsString(m));
            }
        }
        return 0;
    }
}
