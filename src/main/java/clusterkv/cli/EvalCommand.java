package clusterkv.cli;

import clusterkv.eval.ShardEnvironment;

import clusterkv.eval.EvalCase;
import clusterkv.eval.EvalContext;
import clusterkv.eval.EvalGrid;
import clusterkv.eval.EvalResult;
import clusterkv.eval.EvalRunner;
import clusterkv.eval.EvalTasks;
import clusterkv.eval.Merge;
import clusterkv.eval.Report;
import clusterkv.eval.ResultsLog;
import clusterkv.generate.LanguageModel;
import clusterkv.generate.SessionOptions;
import clusterkv.kv.KVType;
import clusterkv.tensor.Parallel;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * Runs an accuracy grid (tasks × policies × budgets × contexts × depths × samples), appending every finished
 * case to results.jsonl, then writes summary.md, summary.json and the charts. With --merge, merges the results
 * folders of shards instead.
 */
@Command(name = "eval", description = {"Evaluate KV policies on retrieval, copy and perplexity tasks over budgets and contexts.",
        "Without --kv-policy every policy runs; without --kv-budget the budgets are 64,128,256,512."})
final class EvalCommand implements Callable<Integer>, Validated {

    @Option(names = {"-m", "--model"}, paramLabel = "FILE", description = "GGUF model (not needed with --merge).")
    String model;

    @Option(names = "--task", split = ",", defaultValue = "passkey", paramLabel = "NAME",
            description = "Tasks: passkey, facts, multivalue, multiquery, variables, commonwords, niah, copy, ppl (default: ${DEFAULT-VALUE}).")
    List<String> tasks;

    @Mixin
    PolicyOptions policy;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    /** The grid's defaults differ from a generating command's: every policy, budgets 64 to 512. */
    static final List<String> DEFAULT_POLICIES = clusterkv.kv.policy.KVPolicies.NAMES;
    static final List<Integer> DEFAULT_BUDGETS = List.of(64, 128, 256, 512);

    @Option(names = "--context", split = ",", defaultValue = "1024", paramLabel = "N", description = "Context lengths in tokens (default: ${DEFAULT-VALUE}).")
    List<Integer> contexts;

    @Option(names = "--depths", split = ",", defaultValue = "0,0.25,0.5,0.75,1", paramLabel = "D",
            description = "Needle depths for passkey and niah, 0 = start (default: ${DEFAULT-VALUE}).")
    List<Double> depths;

    @Option(names = "--samples", defaultValue = "4", paramLabel = "N", description = "Prompts (ppl: chunks) per grid cell (default: ${DEFAULT-VALUE}).")
    int samples;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "Seed of the generated prompts (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--corpus", paramLabel = "FILE", description = "Real text for facts, niah, copy and ppl (e.g. War and Peace).")
    Path corpus;

    @Option(names = {"-o", "--output"}, defaultValue = "results", paramLabel = "DIR", description = "Results folder (default: ${DEFAULT-VALUE}).")
    Path output;

    @Option(names = "--resume", description = "Continue the run in DIR: skip the cases already in results.jsonl.")
    boolean resume;

    @Option(names = "--shard", paramLabel = "i/n", description = "Run only the i-th of n interleaved slices of the grid "
            + "(default: from a Kubernetes Indexed Job's JOB_COMPLETION_INDEX and JOB_COMPLETIONS, or a Slurm array's SLURM_ARRAY_TASK_ID "
            + "and SLURM_ARRAY_TASK_COUNT, when set).")
    String shard;

    @Option(names = "--merge", arity = "1..*", paramLabel = "DIR", description = "Merge these results folders into -o and render the report.")
    List<Path> merge;

    @Option(names = "--no-kv-stats", description = "Skip the fidelity statistics (they run full attention alongside, about doubling the cost).")
    boolean noKvStats;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Compute threads, at most the machine's cores (default: all cores).")
    Integer threads;

    @Option(names = "--kv-type", split = ",", defaultValue = "f16", paramLabel = "TYPE",
            description = "KV cache types to run every policy on: f16, f32, q8_0, q4_0 (quantized keys rotated, as by default); "
                    + "a type other than f16 shows as policy@type, e.g. clusterkv@q8_0 (default: ${DEFAULT-VALUE}).")
    List<String> kvTypes;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    private EvalGrid grid;

    /** The whole grid is built here, before the model loads: a bad value in it fails at once. */
    @Override
    public void validate() {
        if (merge != null) return;
        if (model == null) throw new IllegalArgumentException("eval needs -m MODEL (or --merge DIR...)");
        if (policy.kvStats && noKvStats) {
            throw new IllegalArgumentException("--kv-stats and --no-kv-stats contradict each other (eval measures the fidelity statistics unless --no-kv-stats)");
        }
        Validated.checkThreads(threads);
        var parsed = spec.commandLine().getParseResult();
        if (!parsed.hasMatchedOption("--kv-policy")) policy.policies = DEFAULT_POLICIES;
        if (!parsed.hasMatchedOption("--kv-budget")) policy.budgets = DEFAULT_BUDGETS;
        List<String> names = new java.util.ArrayList<>();
        for (String t : kvTypes) {
            String type = Validated.parse("--kv-type", () -> KVType.parse(t)).label();
            for (String p : policy.all()) names.add(EvalCase.named(p, type));
        }
        grid = new EvalGrid(tasks, names, policy.budgets, contexts, depths, samples);
        if (shard == null) {
            ShardEnvironment fromScheduler = ShardEnvironment.from(System.getenv());
            if (fromScheduler != null) {
                shard = fromScheduler.index() + "/" + fromScheduler.count();
                System.err.println("eval: shard " + shard + " from " + fromScheduler.source());
            }
        }
        if (shard != null) EvalGrid.shard(List.of(), shardPart(0), shardPart(1));
    }

    @Override
    public Integer call() throws Exception {
        if (merge != null) return merge();
        if (threads != null) Parallel.setThreads(threads);
        String text = corpusText();
        Set<String> done = prepareOutput();
        try (LanguageModel lm = LanguageModel.load(ModelSource.resolve(model))) {
            for (int c : contexts) {
                if (c > lm.config().contextLength()) {
                    throw new IllegalArgumentException("--context " + c + " is longer than the model's context of " + lm.config().contextLength());
                }
            }
            for (String t : kvTypes) clusterkv.kv.KVFormat.parse(t, null, null, null).check(lm.config().headDim()); // before any case runs
            List<EvalCase> cases = grid.cases();
            if (shard != null) cases = EvalGrid.shard(cases, shardPart(0), shardPart(1));
            List<EvalCase> pending = cases.stream().filter(c -> !done.contains(c.key())).toList();
            System.err.printf("eval: %d cases in the grid%s, %d already done, %d to run%n", cases.size(),
                    shard == null ? "" : " slice " + shard, cases.size() - pending.size(), pending.size());
            EvalContext context = new EvalContext(lm, text, SessionOptions.defaults(),
                    policy.config(policy.budgets.getFirst()), !noKvStats, seed);
            try (ResultsLog results = ResultsLog.open(output, resume); Progress progress = new Progress()) {
                EvalRunner.run(context, pending, results, Path.of(model).getFileName().toString(), progress);
            }
        }
        report();
        return 0;
    }

    private int merge() throws IOException {
        int n = Merge.merge(merge, output);
        System.err.printf("merged %d cases from %d folders into %s%n", n, merge.size(), output);
        report();
        return 0;
    }

    private void report() throws IOException {
        List<String> files = Report.render(output);
        System.err.println("wrote " + output.resolve("summary.md") + " and " + (files.size() - 1) + " more files in " + output);
    }

    private String corpusText() throws IOException {
        boolean needed = tasks.stream().anyMatch(t -> EvalTasks.create(t).needsCorpus());
        if (corpus == null) {
            if (needed) throw new IllegalArgumentException("tasks " + tasks + " need real text: pass --corpus FILE (e.g. War and Peace)");
            return null;
        }
        return TextFiles.readUtf8(corpus);
    }

    /**
     * Fails before any work when the folder cannot be written, or would mix a new run into old results; returns
     * the keys of the cases already finished there (with --resume), read before the model loads so that a
     * corrupt file fails first.
     */
    private Set<String> prepareOutput() throws IOException {
        try {
            Files.createDirectories(output);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot create the output folder " + output + ": " + Main.describe(e));
        }
        if (!Files.isWritable(output)) throw new IllegalArgumentException("the output folder " + output + " is not writable");
        Path log = output.resolve(ResultsLog.FILE);
        if (!resume && Files.exists(log) && Files.size(log) > 0) {
            throw new IllegalArgumentException(log + " already holds results: pass --resume to continue that run, or choose another -o folder");
        }
        Set<String> done = new HashSet<>();
        if (resume && Files.exists(log)) for (EvalResult r : ResultsLog.read(log)) done.add(r.evalCase().key());
        return done;
    }

    private int shardPart(int which) {
        String[] parts = shard.split("/");
        try {
            if (parts.length != 2) throw new NumberFormatException();
            return Integer.parseInt(parts[which].strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--shard must look like i/n (e.g. 2/4), got '" + shard + "'");
        }
    }

    /** A progress bar with the time left when stderr is a terminal; one line per case otherwise. */
    private static final class Progress implements EvalRunner.Listener, AutoCloseable {
        private ProgressBar bar;
        private String current = "";

        @Override
        public void caseStarted(EvalCase c, int index, int total) {
            current = String.format("[%d/%d] %s %s%s ctx %d%s #%d", index + 1, total, c.task(), c.policy(),
                    c.budget() > 0 ? " B=" + c.budget() : "", c.context(), c.depth() == null ? "" : " depth " + c.depth(), c.sample());
            if (bar != null) bar.setExtraMessage(current);
        }

        @Override
        public void caseFinished(EvalResult r, long doneWeight, long totalWeight, double secondsLeft) {
            if (bar == null && System.console() != null) {
                bar = new ProgressBarBuilder().setTaskName("eval").setInitialMax(totalWeight).setStyle(ProgressBarStyle.ASCII)
                        .setUnit(" tok", 1).setConsumer(new ConsoleProgressBarConsumer(System.err)).build();
            }
            if (bar != null) {
                bar.stepTo(doneWeight);
            } else {
                System.err.printf("%s: score %.4f (%s) %.1f s, about %s left%n", current, r.score(), r.detail(), r.seconds(), duration(secondsLeft));
            }
        }

        private static String duration(double s) {
            long t = Math.round(s);
            return t >= 3600 ? String.format("%dh%02dm", t / 3600, t / 60 % 60) : String.format("%dm%02ds", t / 60, t % 60);
        }

        @Override
        public void close() {
            if (bar != null) bar.close();
        }
    }
}
