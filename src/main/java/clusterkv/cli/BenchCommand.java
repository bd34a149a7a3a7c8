package clusterkv.cli;

import clusterkv.gguf.GGMLType;
import clusterkv.generate.LanguageModel;
import clusterkv.generate.Session;
import clusterkv.generate.SessionOptions;
import clusterkv.kv.KVType;
import clusterkv.model.ModelShape;
import clusterkv.model.SyntheticModel;
import clusterkv.tensor.MemoryBandwidth;
import clusterkv.tensor.Parallel;
import com.fasterxml.jackson.databind.ObjectMapper;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * Prefill and decode speed, the weight bytes each decoded token reads, and the machine's own
 * read bandwidth, so that the ratio to the physical limit is on one screen. Without -m it writes
 * a random-weight llama-3.2-1b-shaped Q8_0 model to a temporary folder and benchmarks that.
 */
@Command(name = "bench", description = "Measure prefill and decode speed against the machine's memory bandwidth.")
final class BenchCommand implements Callable<Integer> {

    @Option(names = {"-m", "--model"}, paramLabel = "FILE", description = "GGUF model (default: a synthetic llama-3.2-1b Q8_0 in a temp folder).")
    String model;

    @Option(names = "--shape", defaultValue = "llama-3.2-1b", description = "Shape of the synthetic model when no -m (default: ${DEFAULT-VALUE}).")
    String shape;

    @Option(names = "--type", defaultValue = "q8_0", description = "Weight type of the synthetic model when no -m (default: ${DEFAULT-VALUE}).")
    String type;

    @Option(names = {"-p", "--n-prompt"}, defaultValue = "512", description = "Prompt tokens to prefill (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = {"-n", "--n-gen"}, defaultValue = "128", description = "Tokens to decode (default: ${DEFAULT-VALUE}).")
    int decodeTokens;

    @Option(names = {"-t", "--threads"}, description = "Compute threads (default: all cores).")
    Integer threads;

    @Option(names = "--kv-type", defaultValue = "f16", description = "KV cache type (default: ${DEFAULT-VALUE}).")
    String kvType;

    @Option(names = "--json", description = "Print one JSON object instead of a table.")
    boolean json;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        if (threads != null) Parallel.setThreads(threads);
        if (promptTokens < 1 || decodeTokens < 1) throw new IllegalArgumentException("-p and -n must be >= 1");
        Path dir = null;
        Path file;
        if (model != null) {
            file = ModelSource.resolve(model);
        } else {
            dir = Files.createTempDirectory("clusterkv-bench");
            file = dir.resolve(shape + "-" + type + ".gguf");
            status("writing a random-weight %s %s model to %s ...", shape, type, file);
            SyntheticModel.write(file, ModelShape.named(shape), SynthCommand.parseType(type), null, 1);
        }
        try {
            return run(file);
        } finally {
            if (dir != null) {
                Files.deleteIfExists(file);
                Files.deleteIfExists(dir);
            }
        }
    }

    private int run(Path file) throws Exception {
        try (LanguageModel lm = LanguageModel.load(file)) {
            int ctx = Math.min(lm.config().contextLength(), promptTokens + decodeTokens + 1);
            SessionOptions opts = SessionOptions.defaults().withContextSize(ctx).withKvType(KVType.parse(kvType)).withPrefillChunk(512);
            SplittableRandom rnd = new SplittableRandom(7);
            int[] prompt = rnd.ints(promptTokens, 0, lm.config().vocabSize()).toArray();
            try (Session session = lm.newSession(opts)) {
                status("warming up ...");
                session.append(java.util.Arrays.copyOf(prompt, Math.min(64, promptTokens)), null);
                for (int i = 0; i < 8; i++) session.append(new int[]{rnd.nextInt(lm.config().vocabSize())}, null);
                session.truncate(0);

                status("prefill %d tokens ...", promptTokens);
                long t0 = System.nanoTime();
                session.append(prompt, null);
                double prefillSeconds = (System.nanoTime() - t0) / 1e9;

                status("decode %d tokens ...", decodeTokens);
                long t1 = System.nanoTime();
                for (int i = 0; i < decodeTokens; i++) session.append(new int[]{rnd.nextInt(lm.config().vocabSize())}, null);
                double decodeSeconds = (System.nanoTime() - t1) / 1e9;

                status("measuring memory read bandwidth ...");
                double machine = MemoryBandwidth.measureReadGBps();
                long weightBytes = lm.model().weightBytesPerToken();
                double decodeRate = decodeTokens / decodeSeconds;
                double achieved = weightBytes * decodeRate / 1e9;
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("model", file.getFileName().toString());
                r.put("threads", Parallel.threads());
                r.put("n_prompt", promptTokens);
                r.put("n_decode", decodeTokens);
                r.put("prefill_tokens_per_s", round(promptTokens / prefillSeconds));
                r.put("decode_tokens_per_s", round(decodeRate));
                r.put("weight_bytes_per_token", weightBytes);
                r.put("achieved_gbps", round(achieved));
                r.put("machine_read_gbps", round(machine));
                r.put("ratio_to_machine", round(achieved / machine));
                if (json) {
                    System.out.println(new ObjectMapper().writeValueAsString(r));
                } else {
                    System.out.printf("model            %s (%s, %d threads)%n", file.getFileName(), lm.config().architecture().ggufName, Parallel.threads());
                    System.out.printf("prefill          %8.1f tokens/s  (%d tokens)%n", promptTokens / prefillSeconds, promptTokens);
                    System.out.printf("decode           %8.1f tokens/s  (%d tokens)%n", decodeRate, decodeTokens);
                    System.out.printf("weights / token  %8.3f GB%n", weightBytes / 1e9);
                    System.out.printf("achieved         %8.1f GB/s  = %.0f%% of the machine's %.1f GB/s read bandwidth%n",
                            achieved, 100 * achieved / machine, machine);
                }
            }
        }
        return 0;
    }

    private void status(String format, Object... args) {
        System.err.printf(format + "%n", args);
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
