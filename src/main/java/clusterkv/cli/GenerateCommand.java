package clusterkv.cli;

import clusterkv.generate.GenerationResult;
import clusterkv.generate.LanguageModel;
import clusterkv.generate.Session;
import clusterkv.generate.SessionLock;
import clusterkv.generate.SessionOptions;
import clusterkv.kv.KVStats;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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

    @Mixin
    JsonOutputOptions json;

    @ArgGroup(multiplicity = "1")
    TokenizeCommand.TextInput input;

    @Option(names = "--prompt-cache", paramLabel = "FILE", description = "Session file: reuse the longest prefix of the prompt that FILE holds, prefill only the rest, and save the prompt's session to FILE (as llama.cpp's --prompt-cache).")
    Path promptCache;

    @Option(names = "--prompt-cache-all", description = "With --prompt-cache: save the generated tokens too.")
    boolean promptCacheAll;

    @Option(names = "--prompt-cache-ro", description = "With --prompt-cache: use FILE but leave it as it is.")
    boolean promptCacheReadOnly;

    @Override
    public Integer call() throws Exception {
        options.applyThreads();
        String prompt = input.read();
        var generation = sampling.toOptions().withConstraint(json.constraint());
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        SessionOptions sessionOptions = policy.apply(options.session());
        if (promptCache != null && policy.kvStats) throw new IllegalArgumentException("--prompt-cache and --kv-stats cannot go together (a session that measures its fidelity is not saved)");
        if ((promptCacheAll || promptCacheReadOnly) && promptCache == null) throw new IllegalArgumentException("--prompt-cache-all and --prompt-cache-ro need --prompt-cache FILE");
        try (LanguageModel lm = LanguageModel.load(options.resolveModel());
             SessionLock lock = promptCache == null || promptCacheReadOnly ? null : SessionLock.acquire(promptCache); // -ro only reads: saves replace the file whole
             Session session = promptCache != null && Files.exists(promptCache) ? lm.openSession(promptCache, sessionOptions) : lm.newSession(sessionOptions)) {
            KVStats stats = policy.kvStats && session.attention() instanceof clusterkv.kv.PolicyAttention ? new KVStats(lm.config().layers()) : null;
            if (stats != null) session.trackFidelity(stats);
            int[] ids = lm.tokenizer().encode(prompt, true, false);
            int held = session.length();
            int[] rest = session.reuse(ids);
            if (promptCache != null) System.err.printf("prompt cache: %d of the prompt's %d tokens reused from %s (it held %d)%n", ids.length - rest.length, ids.length, promptCache, held);
            long t0 = System.nanoTime();
            try (PrefillProgress progress = PrefillProgress.start(rest.length)) {
                session.append(rest, progress);
            }
            long prefillNanos = System.nanoTime() - t0;
            boolean save = promptCache != null && !promptCacheReadOnly;
            if (save && !promptCacheAll) session.save(promptCache);
            GenerationResult r = session.generate(generation, out::print);
            if (save && promptCacheAll) session.save(promptCache);
            out.println();
            System.err.printf("%nprompt: %d tokens, %.1f tokens/s | generated: %d tokens, %.1f tokens/s | stop: %s%n",
                    rest.length, rest.length / Math.max(prefillNanos * 1e-9, 1e-9), r.generatedTokens(), r.decodeTokensPerSecond(),
                    r.stopReason().name().toLowerCase());
            if (stats != null) KVStatsReport.print(stats.toMap());
        }
        return 0;
    }
}
