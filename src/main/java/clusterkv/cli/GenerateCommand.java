package clusterkv.cli;

import clusterkv.generate.GenerationResult;
import clusterkv.generate.LanguageModel;
import clusterkv.generate.Session;
import clusterkv.generate.SessionOptions;
import clusterkv.kv.KVStats;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;

/** Streams the continuation of a prompt to stdout; statistics go to stderr. */
@Command(name = "generate", description = "Continue a prompt; only the generated text goes to stdout.")
final class GenerateCommand implements Callable<Integer> {

    @Mixin
    ModelOptions options;

    @Mixin
    PolicyOptions policy;

    @Mixin
    SamplingOptions sampling;

    @ArgGroup(multiplicity = "1")
    TokenizeCommand.TextInput input;

    @Override
    public Integer call() throws Exception {
        options.applyThreads();
        String prompt = input.read();
        var generation = sampling.toOptions();
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        SessionOptions sessionOptions = policy.apply(SessionOptions.defaults().withContextSize(options.contextSize).withKvFormat(options.kvFormat()));
        try (LanguageModel lm = LanguageModel.load(options.resolveModel());
             Session session = lm.newSession(sessionOptions)) {
            KVStats stats = policy.kvStats && session.attention() instanceof clusterkv.kv.PolicyAttention ? new KVStats(lm.config().layers()) : null;
            if (stats != null) session.trackFidelity(stats);
            int[] ids = lm.tokenizer().encode(prompt, true, false);
            GenerationResult r;
            try (PrefillProgress progress = PrefillProgress.start(ids.length)) {
                r = session.generate(ids, generation, text -> {
                    progress.close();
                    out.print(text);
                }, progress);
            }
            out.println();
            System.err.printf("%nprompt: %d tokens, %.1f tokens/s | generated: %d tokens, %.1f tokens/s | stop: %s%n",
                    r.promptTokens(), r.prefillTokensPerSecond(), r.generatedTokens(), r.decodeTokensPerSecond(),
                    r.stopReason().name().toLowerCase());
            if (stats != null) KVStatsReport.print(stats.toMap());
        }
        return 0;
    }
}
