package clusterkv.cli;

import clusterkv.gguf.GGMLType;
import clusterkv.generate.GenerationOptions;
import clusterkv.generate.LanguageModel;
import clusterkv.generate.OutputConstraint;
import clusterkv.generate.SamplingParams;
import clusterkv.generate.Session;
import clusterkv.generate.SessionOptions;
import clusterkv.kv.KVFormat;
import clusterkv.kv.PolicyAttention;
import clusterkv.model.ModelConfig;
import clusterkv.model.ModelShape;
import clusterkv.model.SyntheticModel;
import clusterkv.model.WeightTypes;
import clusterkv.tensor.CpuInfo;
import clusterkv.tensor.FmaPeak;
import clusterkv.tensor.MemoryBandwidth;
import clusterkv.tensor.OsMemory;
import clusterkv.tensor.Parallel;
import com.fasterxml.jackson.databind.ObjectMapper;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * Prefill and decode speed, the weight bytes each decoded token reads, and the machine's own
 * read bandwidth, so that the ratio to the physical limit is on one screen. Without -m it writes
 * a random-weight llama-3.2-1b-shaped Q8_0 model to a temporary folder and benchmarks that.
 */
@Command(name = "bench", description = "Measure prefill and decode speed against the machine's memory bandwidth.")
final class BenchCommand implements Callable<Integer>, Validated {

    @Option(names = {"-m", "--model"}, paramLabel = "FILE", description = "GGUF model (default: a synthetic llama-3.2-1b Q8_0 in a temp folder).")
    String model;

    @Option(names = "--shape", defaultValue = "llama-3.2-1b", description = "Shape of the synthetic model when no -m (default: ${DEFAULT-VALUE}).")
    String shape;

    @Option(names = "--type", defaultValue = "q8_0", description = "Weight type of the synthetic model when no -m, as for synth (default: ${DEFAULT-VALUE}).")
    String type;

    @Option(names = {"-p", "--n-prompt"}, defaultValue = "512", description = "Prompt tokens to prefill (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = {"-n", "--n-gen"}, defaultValue = "128", description = "Tokens to decode (default: ${DEFAULT-VALUE}).")
    int decodeTokens;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Compute threads, at most the machine's cores (default: all cores).")
    Integer threads;

    @picocli.CommandLine.Mixin
    KVCacheOptions kv;

    @Option(names = "--json", description = "Print one JSON object instead of a table.")
    boolean json;

    @Option(names = "--context", paramLabel = "N",
            description = "Also measure decode at a context of N tokens for each --kv-policy (default without -m: 32768, full and clusterkv).")
    Integer context;

    @Option(names = "--kv-fill", defaultValue = "synthetic", paramLabel = "synthetic|prefill",
            description = "How the long context is filled: synthetic = generated keys with cluster structure, no prefill; "
                    + "prefill = a real prefill of random tokens under each policy, timed with the policy's indexing (default: ${DEFAULT-VALUE}).")
    String kvFill;

    @Option(names = "--sweep-context", split = ",", paramLabel = "N",
            description = "Measure long-context decode at each of these contexts (e.g. 4096,8192,...,131072), for each --kv-policy and --kv-budget.")
    List<Integer> sweep;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE",
            description = "Also write the JSON object to FILE (name it bench*.json in an eval results folder for the latency plot of `report`).")
    Path output;

    @Option(names = "--skip-prefill", description = "Only the long-context decode measurement (with --context).")
    boolean skipPrefill;

    @Option(names = "--interleave", description = "At long contexts, hold every policy's session at once and decode in turns of "
            + BLOCK + " tokens, so that the machine's drift falls on all policies alike (the KV caches of all policies must fit in memory together).")
    boolean interleave;

    @picocli.CommandLine.Mixin
    PolicyOptions policy;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    @picocli.CommandLine.Mixin
    JsonOutputOptions structured;

    /** Everything is checked before the synthetic model is written (minutes for a large shape) or a model loads. */
    @Override
    public void validate() {
        Validated.check(promptTokens >= 1, "--n-prompt", ">= 1", promptTokens);
        Validated.check(decodeTokens >= 1, "--n-gen", ">= 1", decodeTokens);
        Validated.checkThreads(threads);
        if (context != null) Validated.check(context >= 1, "--context", ">= 1", context);
        if (sweep != null) for (int n : sweep) Validated.check(n >= 1, "--sweep-context", "a list of numbers >= 1", n);
        Validated.check(kvFill.equals("synthetic") || kvFill.equals("prefill"), "--kv-fill", "synthetic or prefill", "'" + kvFill + "'");
        if (policy.kvStats) throw new IllegalArgumentException("bench times decoding and does not support --kv-stats (use perplexity or eval for fidelity figures)");
        if (model == null) {
            Validated.parse("--shape", () -> ModelShape.named(shape));
            Validated.parse("--type", () -> WeightTypes.parse(type));
        }
    }

    @Override
    public Integer call() throws Exception {
        if (threads != null) Parallel.setThreads(threads);
        Path dir = null;
        Path file;
        if (model != null) {
            file = ModelSource.resolve(model);
        } else {
            dir = Files.createTempDirectory("clusterkv-bench");
            file = dir.resolve(shape + "-" + type + ".gguf");
            status("writing a random-weight %s %s model to %s ...", shape, type, file);
            SyntheticModel.write(file, ModelShape.named(shape), WeightTypes.parse(type), null, 1);
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
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("model", file.getFileName().toString());
            r.put("threads", Parallel.threads());
            r.put("cpu", CpuInfo.detect());
            long weightBytes = lm.model().weightBytesPerToken();
            r.put("weight_bytes_per_token", weightBytes);
            KVFormat kvFormat = kv.format();
            r.put("kv_type_k", kvFormat.keys().label());
            r.put("kv_type_v", kvFormat.values().label());
            r.put("kv_rotate", kvFormat.rotate());
            ModelConfig c = lm.config();
            r.put("kv_bytes_per_token_of_context", (long) c.layers() * c.kvHeads() * kvFormat.slotBytes(c.headDim()));
            if (!skipPrefill) measurePromptAndDecode(lm, r);
            status("measuring memory read bandwidth ...");
            double machine = MemoryBandwidth.measureReadGBps();
            r.put("machine_read_gbps", round(machine));
            r.put("machine_fma_peak_gflops", round(FmaPeak.measureGflops()));
            if (r.containsKey("decode_tokens_per_s")) {
                double achieved = weightBytes * (double) r.get("decode_tokens_per_s") / 1e9;
                r.put("achieved_gbps", round(achieved));
                r.put("ratio_to_machine", round(achieved / machine));
            }
            List<Integer> contexts = sweep != null ? sweep : context != null ? List.of(context) : model == null ? List.of(32768) : List.of();
            if (!contexts.isEmpty()) {
                List<String> names = context == null && sweep == null && policy.policies.equals(List.of("full")) ? List.of("full", "clusterkv") : policy.all();
                List<Map<String, Object>> rows = new java.util.ArrayList<>();
                for (int n : contexts) rows.addAll(measureAtContext(lm, names, n, weightBytes, machine));
                r.put("policies", rows);
            }
            String text = new ObjectMapper().writeValueAsString(r);
            if (output != null) Files.writeString(output, text + "\n");
            if (json) System.out.println(text);
            else printTable(r, lm);
        }
        return 0;
    }

    private void measurePromptAndDecode(LanguageModel lm, Map<String, Object> r) {
        int needed = promptTokens + decodeTokens * (structured.constraint() == null ? 1 : 2) + 1;
        if (needed > lm.config().contextLength()) {
            throw new IllegalArgumentException("--n-prompt + --n-gen (" + (needed - 1) + ") must be less than the model's context of " + lm.config().contextLength());
        }
        // the warm-up below appends up to 64 prompt tokens and 8 more before it truncates
        int ctx = Math.min(lm.config().contextLength(), Math.max(needed, Math.min(64, promptTokens) + 8));
        SessionOptions opts = SessionOptions.defaults().withContextSize(ctx).withKvFormat(kv.format()).withKvFile(kv.file).withPrefillChunk(512);
        SplittableRandom rnd = new SplittableRandom(7);
        int vocab = lm.config().vocabSize();
        int[] prompt = rnd.ints(promptTokens, 0, vocab).toArray();
        try (Session session = lm.newSession(opts)) {
            status("warming up ...");
            session.append(java.util.Arrays.copyOf(prompt, Math.min(64, promptTokens)), null);
            for (int i = 0; i < 8; i++) session.append(new int[]{rnd.nextInt(vocab)}, null);
            session.truncate(0);
            status("prefill %d tokens ...", promptTokens);
            long t0 = System.nanoTime();
            session.append(prompt, null);
            double prefillSeconds = (System.nanoTime() - t0) / 1e9;
            status("decode %d tokens ...", decodeTokens);
            double decodeSeconds = decode(session, decodeTokens, rnd, vocab);
            r.put("n_prompt", promptTokens);
            r.put("n_decode", decodeTokens);
            r.put("prefill_tokens_per_s", round(promptTokens / prefillSeconds));
            r.put("decode_tokens_per_s", round(decodeTokens / decodeSeconds));
            if (structured.constraint() != null) measureConstrained(session, lm, r, decodeSeconds / decodeTokens);
        }
    }

    /**
     * Decode under --json-schema, sampling as llama.cpp does by default, with the time spent computing and applying
     * the token masks measured apart: generations are repeated (each ends when its value is whole) until --n-gen
     * tokens are generated. The vocabulary's trie is built before, once per tokenizer, and timed on its own.
     */
    private void measureConstrained(Session session, LanguageModel lm, Map<String, Object> r, double decodeStepSeconds) {
        status("constrained decode of %d tokens ...", decodeTokens);
        long t0 = System.nanoTime();
        structured.constraint().start(lm.tokenizer());
        r.put("json_trie_build_ms", round((System.nanoTime() - t0) / 1e6));
        TimedConstraint timed = new TimedConstraint(structured.constraint());
        int tokens = 0;
        t0 = System.nanoTime();
        for (long seed = 1; tokens < decodeTokens; seed++) {
            session.truncate(promptTokens);
            var options = new GenerationOptions(decodeTokens - tokens, SamplingParams.DEFAULT.withSeed(seed), List.of()).withConstraint(timed);
            tokens += Math.max(1, session.generate(options, text -> {}).generatedTokens());
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        double maskSeconds = timed.nanos / 1e9 / tokens;
        r.put("json_decode_tokens_per_s", round(tokens / seconds));
        r.put("json_mask_ms_per_token", round(maskSeconds * 1e3));
        r.put("json_mask_share_of_decode_step", round(maskSeconds / decodeStepSeconds));
    }

    /** A constraint whose mask computing and applying is timed, for bench. */
    private static final class TimedConstraint implements OutputConstraint {
        private final OutputConstraint inner;
        long nanos;

        TimedConstraint(OutputConstraint inner) {
            this.inner = inner;
        }

        @Override
        public Constraint start(clusterkv.tokenizer.Tokenizer tokenizer) {
            Constraint c = inner.start(tokenizer);
            return new Constraint() {
                public void restrict(float[] logits, int tokensLeft) {
                    long t0 = System.nanoTime();
                    c.restrict(logits, tokensLeft);
                    nanos += System.nanoTime() - t0;
                }

                public void accept(int token) {
                    long t0 = System.nanoTime();
                    c.accept(token);
                    nanos += System.nanoTime() - t0;
                }

                public boolean finished() {
                    return c.finished();
                }
            };
        }
    }

    /** Decode steps per block when the policies take turns (--interleave). */
    private static final int BLOCK = 8;

    /** Every policy (and budget) at one context, with each one's speed relative to full attention's there. */
    private List<Map<String, Object>> measureAtContext(LanguageModel lm, List<String> names, int n, long weightBytes, double machine) {
        List<Map<String, Object>> rows = new java.util.ArrayList<>();
        List<LongContextRun> runs = new java.util.ArrayList<>();
        try {
            for (String name : names) {
                for (int budget : name.equals("full") ? List.of(policy.budgets.getFirst()) : policy.budgets) {
                    LongContextRun run = new LongContextRun(lm, name, budget, n);
                    if (interleave) {
                        runs.add(run);
                        continue;
                    }
                    try (run) {
                        status("%s: decode %d tokens at context %d ...", name, run.steps, run.n);
                        run.decode(run.steps);
                        rows.add(run.row(weightBytes, machine));
                    }
                }
            }
            if (interleave && !runs.isEmpty()) {
                int steps = runs.getFirst().steps;
                status("%s: decode %d tokens each at context %d, taking turns every %d ...", String.join(", ", names), steps, runs.getFirst().n, BLOCK);
                for (int done = 0; done < steps; done += BLOCK) for (LongContextRun run : runs) run.decode(Math.min(BLOCK, steps - done));
                for (LongContextRun run : runs) rows.add(run.row(weightBytes, machine));
            }
        } finally {
            for (LongContextRun run : runs) run.close();
        }
        double full = rows.stream().filter(m -> m.get("policy").equals("full")).mapToDouble(m -> (double) m.get("decode_tokens_per_s")).findFirst().orElse(Double.NaN);
        for (Map<String, Object> row : rows) {
            row.put("ratio_to_full", Double.isNaN(full) ? null : round((double) row.get("decode_tokens_per_s") / full));
        }
        return rows;
    }

    /** One policy's session at a long context, filled (generated keys, or a timed prefill) and warmed up; then timed decode steps. */
    private final class LongContextRun implements AutoCloseable {
        final String name;
        final int budget, n, steps;
        final Session session;
        final SplittableRandom rnd = new SplittableRandom(11);
        final int vocab;
        final Map<String, Object> prefill = new LinkedHashMap<>();
        final double fillSeconds;
        final long bytesBefore;
        double seconds;
        int decoded;

        LongContextRun(LanguageModel lm, String name, int budget, int context) {
            this.name = name;
            this.budget = budget;
            this.steps = Math.max(8, Math.min(decodeTokens, 32));
            this.n = Math.min(context, lm.config().contextLength() - steps - steps / 2 - 8); // the model's context bounds the session
            this.vocab = lm.config().vocabSize();
            SessionOptions opts = SessionOptions.defaults().withContextSize(n + steps + steps / 2 + 8).withKvFormat(kv.format()).withKvFile(kv.file)
                    .withPolicy(name, policy.config(budget));
            this.session = lm.newSession(opts);
            try {
                long t0 = System.nanoTime();
                if (kvFill.equals("prefill")) prefill(t0);
                else {
                    status("%s: filling %d positions with generated keys and values ...", name, n);
                    session.fillSynthetic(n, 1);
                }
                fillSeconds = (System.nanoTime() - t0) / 1e9;
                BenchCommand.decode(session, steps / 2, rnd, vocab); // warm-up at this context: JIT and caches
                bytesBefore = session.attention().kvBytesRead();
            } catch (RuntimeException | Error e) {
                session.close();
                throw e;
            }
        }

        private void prefill(long t0) {
            // JIT warm-up of the policy's decode path on a short generated context, so that the first step
            // below times the index, not the compiler.
            session.fillSynthetic(Math.min(n, 2 * budget + 64), 1);
            BenchCommand.decode(session, 8, rnd, vocab);
            session.truncate(0);
            status("%s: prefill %d random tokens ...", name, n);
            try (PrefillProgress progress = PrefillProgress.start(n)) {
                session.append(rnd.ints(n, 0, vocab).toArray(), progress);
            }
            prefill.put("prefill_seconds", round((System.nanoTime() - t0) / 1e9));
            // The first step also waits for whatever indexing of the prompt the prefill did not hide.
            double first = BenchCommand.decode(session, 1, rnd, vocab);
            double next = BenchCommand.decode(session, 1, rnd, vocab);
            prefill.put("first_step_extra_seconds", round(Math.max(0, first - next)));
            if (session.attention() instanceof PolicyAttention pa) prefill.put("index_seconds", round(pa.indexingNanos() / 1e9));
        }

        /** Bytes read from storage during the timed steps (the KV cache's pages that a --kv-file run had to bring in). */
        long storageBytes;

        void decode(int count) {
            long before = OsMemory.storageBytesRead();
            seconds += BenchCommand.decode(session, count, rnd, vocab);
            storageBytes += OsMemory.storageBytesRead() - before;
            decoded += count;
        }

        Map<String, Object> row(long weightBytes, double machine) {
            double kvBytes = (session.attention().kvBytesRead() - bytesBefore) / (double) decoded;
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("policy", name);
            row.put("context", n);
            row.put("budget", budget);
            row.put("decode_tokens_per_s", round(decoded / seconds));
            row.put("kv_bytes_read_per_token", Math.round(kvBytes));
            row.put("predicted_tokens_per_s", round(machine * 1e9 / (weightBytes + kvBytes)));
            row.put("kv_bytes_resident", session.attention().kvBytesResident(session.length()));
            if (session.attention() instanceof PolicyAttention pa) {
                row.put("attended_tokens_per_head", round(pa.attendedTokensPerHead()));
                if (pa.cacheHits() != null) {
                    long[] hits = pa.cacheHits();
                    row.put("cluster_cache_hit_rate", round(hits[0] / (double) Math.max(1, hits[1])));
                }
            }
            if (kv.file != null) row.put("storage_bytes_read_per_token", storageBytes / decoded);
            row.put("fill_seconds", round(fillSeconds));
            row.putAll(prefill);
            return row;
        }

        @Override
        public void close() {
            session.close();
        }
    }

    private static double decode(Session session, int steps, SplittableRandom rnd, int vocab) {
        long t0 = System.nanoTime();
        for (int i = 0; i < steps; i++) session.append(new int[]{rnd.nextInt(vocab)}, null);
        return (System.nanoTime() - t0) / 1e9;
    }

    @SuppressWarnings("unchecked")
    private void printTable(Map<String, Object> r, LanguageModel lm) {
        System.out.printf("model            %s (%s, %d threads)%n", r.get("model"), lm.config().architecture().ggufName, Parallel.threads());
        System.out.printf("cpu              %s%n", ((CpuInfo) r.get("cpu")).describe());
        System.out.printf("fp32 FMA peak    %8.1f GFLOP/s (the compute threads, measured now)%n", r.get("machine_fma_peak_gflops"));
        if (r.containsKey("prefill_tokens_per_s")) {
            System.out.printf("prefill          %8.1f tokens/s  (%d tokens)%n", r.get("prefill_tokens_per_s"), promptTokens);
            System.out.printf("decode           %8.1f tokens/s  (%d tokens)%n", r.get("decode_tokens_per_s"), decodeTokens);
            if (r.containsKey("json_mask_ms_per_token")) {
                System.out.printf("json decode      %8.1f tokens/s  (masks %.2f ms per token = %.0f%% of a decode step; vocabulary trie built in %.0f ms)%n",
                        r.get("json_decode_tokens_per_s"), r.get("json_mask_ms_per_token"), 100 * (double) r.get("json_mask_share_of_decode_step"), r.get("json_trie_build_ms"));
            }
            System.out.printf("weights / token  %8.3f GB%n", (long) r.get("weight_bytes_per_token") / 1e9);
            System.out.printf("achieved         %8.1f GB/s  = %.0f%% of the machine's %.1f GB/s read bandwidth%n",
                    r.get("achieved_gbps"), 100 * (double) r.get("ratio_to_machine"), r.get("machine_read_gbps"));
        } else {
            System.out.printf("machine read bandwidth %.1f GB/s%n", r.get("machine_read_gbps"));
        }
        if (r.containsKey("policies")) {
            System.out.printf("%nlong-context decode (KV filled with generated keys, dense layers %d; KV cache %s, %d bytes per token of context):%n",
                    policy.config(1).denseLayers(), kv.format().label(), r.get("kv_bytes_per_token_of_context"));
            System.out.printf("%-10s %7s %8s %10s %12s %12s %12s %9s%n", "policy", "budget", "context", "tokens/s", "KV MB/token", "bound tok/s", "KV MB held", "vs full");
            for (Map<String, Object> row : (List<Map<String, Object>>) r.get("policies")) {
                Object ratio = row.get("ratio_to_full");
                System.out.printf("%-10s %7s %8d %10.2f %12.1f %12.2f %12.1f %9s%n", row.get("policy"),
                        row.get("policy").equals("full") ? "-" : row.get("budget"), row.get("context"),
                        row.get("decode_tokens_per_s"), (long) row.get("kv_bytes_read_per_token") / 1e6,
                        row.get("predicted_tokens_per_s"), (long) row.get("kv_bytes_resident") / 1e6,
                        ratio == null ? "-" : String.format("%.2fx", (double) ratio));
            }
            System.out.println("(KV MB held: recallable policies keep every token; eviction policies give whole pages of evicted slots back to the OS)");
            for (Map<String, Object> row : (List<Map<String, Object>>) r.get("policies")) {
                if (!row.containsKey("storage_bytes_read_per_token")) continue;
                System.out.printf("%-10s read %.1f MB per token from storage at %d (the KV cache in --kv-file %s)%n",
                        row.get("policy"), (long) row.get("storage_bytes_read_per_token") / 1e6, row.get("context"), kv.file);
            }
            for (Map<String, Object> row : (List<Map<String, Object>>) r.get("policies")) {
                if (!row.containsKey("attended_tokens_per_head")) continue;
                System.out.printf("%-10s attends %.1f tokens per query head per sparse step at %d (budget %s)%n",
                        row.get("policy"), row.get("attended_tokens_per_head"), row.get("context"), row.get("budget"));
            }
            for (Map<String, Object> row : (List<Map<String, Object>>) r.get("policies")) {
                if (!row.containsKey("cluster_cache_hit_rate")) continue;
                System.out.printf("%-10s cluster cache hit rate %.2f at %d (clusters chosen again at the next step: what --cluster-cache keeps)%n",
                        row.get("policy"), row.get("cluster_cache_hit_rate"), row.get("context"));
            }
            for (Map<String, Object> row : (List<Map<String, Object>>) r.get("policies")) {
                if (!row.containsKey("prefill_seconds")) continue;
                System.out.printf("%-10s prefill of %d tokens %.1f s; indexing the prompt took %.2f s beside it, and the first decode step waited %.2f s more%n",
                        row.get("policy"), row.get("context"), row.get("prefill_seconds"), row.getOrDefault("index_seconds", 0.0), row.get("first_step_extra_seconds"));
            }
        }
    }

    private void status(String format, Object... args) {
        System.err.printf(format + "%n", args);
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
