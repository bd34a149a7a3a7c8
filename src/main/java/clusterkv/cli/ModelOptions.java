package clusterkv.cli;

import clusterkv.generate.SessionOptions;
import clusterkv.kv.KVFormat;
import clusterkv.tensor.Parallel;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Options every model-running command shares. */
final class ModelOptions implements Validated {

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "FILE|hf://owner/repo/file.gguf",
            description = "GGUF model file, or hf://owner/repo/file.gguf to download it into the local cache.")
    String model;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Compute threads, at most the machine's cores (default: all cores).")
    Integer threads;

    @Option(names = {"-c", "--ctx-size"}, paramLabel = "N", description = "Context size in tokens; 0 means the model's (default: the model's).")
    int contextSize;

    @Mixin
    KVCacheOptions kv;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    @Override
    public void validate() {
        Validated.checkThreads(threads);
        Validated.check(contextSize >= 0, "--ctx-size", ">= 0 (0: the model's context)", contextSize);
        kv.validate();
    }

    void applyThreads() {
        if (threads != null) Parallel.setThreads(threads);
    }

    KVFormat kvFormat() {
        return kv.format();
    }

    /** The session options these model options set: context size, KV format and where the cache lives. */
    SessionOptions session() {
        return SessionOptions.defaults().withContextSize(contextSize).withKvFormat(kv.format()).withKvFile(kv.file);
    }

    java.nio.file.Path resolveModel() throws Exception {
        return ModelSource.resolve(model);
    }
}
