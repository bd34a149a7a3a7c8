package clusterkv.cli;

import clusterkv.chat.ChatTemplate;
import clusterkv.generate.LanguageModel;
import clusterkv.generate.SessionOptions;
import clusterkv.kv.KVType;
import clusterkv.server.OpenAIServer;
import clusterkv.server.ServerConfig;
import clusterkv.server.ServerLimits;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

/** Serves the model over an OpenAI-compatible HTTP API until SIGTERM or Ctrl-C. */
@Command(name = "serve", description = "OpenAI-compatible HTTP server: /v1/chat/completions, /v1/completions (streaming), /v1/models, /health, /metrics.")
final class ServeCommand implements Callable<Integer>, Validated {

    @Mixin
    ModelOptions options;

    @Mixin
    PolicyOptions policy;

    @Option(names = "--host", defaultValue = "127.0.0.1", paramLabel = "ADDRESS", description = "Address to bind; 0.0.0.0 for every interface (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "8080", paramLabel = "N", description = "TCP port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--parallel", defaultValue = "4", paramLabel = "N", description = "Requests generated at once, interleaved (default: ${DEFAULT-VALUE}).")
    int parallel;

    @Option(names = "--queue", defaultValue = "16", paramLabel = "N", description = "Requests that may wait for a slot; beyond, 429 (default: ${DEFAULT-VALUE}).")
    int queue;

    @Option(names = "--kv-types", split = ",", paramLabel = "TYPE", description = "KV cache types that a request may ask for "
            + "in its kv_type field, besides the server's own --kv-type (e.g. q8_0,q4_0; default: none).")
    List<String> kvTypes = List.of();

    @Option(names = "--api-key", paramLabel = "KEY", description = "Require 'Authorization: Bearer KEY' on every request.")
    String apiKey;

    @Option(names = "--cache-mb", defaultValue = "1024", paramLabel = "MiB",
            description = "KV memory idle sessions may keep so that later requests reuse their prompt prefix; 0 disables (default: ${DEFAULT-VALUE}).")
    long cacheMiB;

    @Option(names = "--cache-dir", paramLabel = "DIR", description = "Save the idle sessions that the prompt cache lets go (and, at shutdown, every idle session) "
            + "to DIR, so that a later request or the next run reuses their prefix from disk.")
    java.nio.file.Path cacheDir;

    @Option(names = "--slot-save-path", paramLabel = "DIR", description = "Folder for POST /slots/{id}?action=save|restore (llama-server's): "
            + "a slot's session saved as a session file, restored also in a later run.")
    java.nio.file.Path slotSavePath;

    @Option(names = "--cache-disk-mb", defaultValue = "10240", paramLabel = "MiB", description = "The most the session files in --cache-dir may take (default: ${DEFAULT-VALUE}).")
    long cacheDiskMiB;

    @Option(names = "--chat-template-file", paramLabel = "FILE", description = "A Jinja chat template to use instead of the model's (as llama-server's).")
    java.nio.file.Path chatTemplateFile;

    @Option(names = "--alias", paramLabel = "NAME", description = "Model id in /v1/models and responses (default: the file name).")
    String alias;

    @Option(names = "--max-body-kb", defaultValue = "4096", paramLabel = "KiB",
            description = "Largest request body; a larger one is refused with 413 before it is read (default: ${DEFAULT-VALUE}).")
    long maxBodyKiB;

    @Option(names = "--header-timeout", defaultValue = "10", paramLabel = "SECONDS",
            description = "Time a client has to send a request's headers; a slower one is dropped (default: ${DEFAULT-VALUE}).")
    double headerTimeout;

    @Option(names = "--body-timeout", defaultValue = "30", paramLabel = "SECONDS",
            description = "Time a client has to send a request's body; a slower one is dropped (default: ${DEFAULT-VALUE}).")
    double bodyTimeout;

    /** The largest --max-body-kb whose bytes ServerLimits accepts. */
    private static final long MAX_BODY_KIB = 2_097_151;

    /**
     * The server's own options, checked like every other command's before the model is resolved (an hf:// source
     * downloads) or loaded; ServerConfig's checks run on a placeholder session and name.
     */
    @Override
    public void validate() {
        if (policy.kvStats) throw new IllegalArgumentException("serve does not support --kv-stats");
        config(SessionOptions.defaults(), "validate");
    }

    private ServerConfig config(SessionOptions session, String name) {
        Validated.check(maxBodyKiB >= 1 && maxBodyKiB <= MAX_BODY_KIB, "--max-body-kb", "in [1, " + MAX_BODY_KIB + "]", maxBodyKiB);
        ServerLimits limits = ServerLimits.defaults().withMaxBodyBytes(maxBodyKiB << 10)
                .withTimeouts(seconds("--header-timeout", headerTimeout), seconds("--body-timeout", bodyTimeout));
        Set<KVType> allowed = EnumSet.noneOf(KVType.class);
        for (String t : kvTypes) allowed.add(Validated.parse("--kv-types", () -> KVType.parse(t)));
        return new ServerConfig(host, port, parallel, queue, apiKey, session, allowed, cacheMiB << 20, cacheDir, cacheDiskMiB << 20, slotSavePath, name, Duration.ofSeconds(10), System.err::println, limits,
                chatTemplateFile == null ? null : Validated.parse("--chat-template-file", () -> readTemplate(chatTemplateFile)));
    }

    @Override
    public Integer call() throws Exception {
        options.applyThreads();
        ChatTemplate.preloadAsync();
        Path path = options.resolveModel();
        SessionOptions session = policy.apply(options.session());
        String name = alias != null ? alias : path.getFileName().toString().replaceFirst("\\.gguf$", "");
        ServerConfig config = config(session, name);
        try (LanguageModel lm = LanguageModel.load(path)) {
            long sessionBytes;
            try (var probe = lm.newSession(session)) { // fails now, not at the first request, when the context or policy is wrong
                sessionBytes = probe.attention().kvBytesResident(probe.contextSize());
            }
            OpenAIServer server = OpenAIServer.start(lm, config);
            for (String notice : new String[]{server.chatTemplateNotice(), OpenAIServer.disconnectNotice()}) {
                if (notice != null) System.err.println(Printable.escape(notice));
            }
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                System.err.println("shutting down: finishing requests in flight (at most 10 s)");
                server.close();
            }, "clusterkv-shutdown"));
            System.err.printf("serving %s on http://%s:%d (context %d, kv-policy %s, %d parallel, queue %d, %.1f MiB of KV cache per session%s)%n",
                    name, host, server.port(), session.contextSize() == 0 ? lm.config().contextLength() : session.contextSize(), session.kvPolicy(),
                    parallel, queue, sessionBytes / 1048576.0, apiKey != null ? ", API key required" : "");
            server.awaitClosed();
        }
        return 0;
    }

    private static Duration seconds(String option, double s) {
        if (!(s > 0 && s <= 86_400)) throw new IllegalArgumentException(option + " must be in (0, 86400] seconds, got " + s);
        return Duration.ofNanos((long) (s * 1e9));
    }

    private static String readTemplate(java.nio.file.Path file) {
        try {
            return java.nio.file.Files.readString(file);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
