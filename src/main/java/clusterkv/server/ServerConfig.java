package clusterkv.server;

import clusterkv.generate.SessionOptions;
import clusterkv.kv.KVType;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.function.Consumer;

/**
 * How the server runs.
 *
 * @param host          address to bind (127.0.0.1 by default: only this machine)
 * @param port          TCP port; 0 picks a free one (tests)
 * @param parallel      sequences generated at once, interleaved on the one compute thread
 * @param queue         accepted requests that may wait for a slot; beyond, 429
 * @param apiKey        when not null, every request must carry {@code Authorization: Bearer <apiKey>}
 * @param session       the sessions' context, KV type and default KV policy (a request may override policy and budget)
 * @param kvTypes       the KV cache types a request may name in kv_type besides the session's own
 * @param cacheBytes    KV memory that idle sessions may keep for prompt-prefix reuse; 0 disables the prompt cache
 * @param cacheDir      where idle sessions that the prompt cache lets go are saved, to come back on a prefix hit (also
 *                      after a restart); null: they are dropped
 * @param cacheDiskBytes the most bytes the session files in cacheDir may take
 * @param slotSavePath  where POST /slots/{id}?action=save|restore keeps its files; null: those actions answer 501
 * @param modelName     the id that /v1/models lists and responses carry
 * @param shutdownGrace how long closing waits for requests in flight
 * @param log           one line per completion request
 * @param limits        request size, read timeouts and parsing threads: what one client may cost
 * @param chatTemplate  the Jinja chat template to use instead of the model's (llama-server's --chat-template-file); null: the model's
 */
public record ServerConfig(String host, int port, int parallel, int queue, String apiKey, SessionOptions session, Set<KVType> kvTypes,
                           long cacheBytes, Path cacheDir, long cacheDiskBytes, Path slotSavePath, String modelName, Duration shutdownGrace, Consumer<String> log,
                           ServerLimits limits, String chatTemplate) {

    public ServerConfig {
        if (parallel < 1) throw new IllegalArgumentException("--parallel must be >= 1, got " + parallel);
        if (queue < 0) throw new IllegalArgumentException("--queue must be >= 0, got " + queue);
        if (port < 0 || port > 65535) throw new IllegalArgumentException("--port must be in [0, 65535], got " + port);
        if (cacheBytes < 0) throw new IllegalArgumentException("the prompt cache size must be >= 0, got " + cacheBytes);
        if (cacheDiskBytes < 0) throw new IllegalArgumentException("--cache-disk-mb must be >= 0, got " + cacheDiskBytes);
        if (apiKey != null && apiKey.isEmpty()) throw new IllegalArgumentException("--api-key must not be empty");
        if (limits == null) throw new IllegalArgumentException("the server limits are required");
        kvTypes = Set.copyOf(kvTypes);
    }

    /** Defaults for tests and embedding: 127.0.0.1, a free port, 4 parallel, 16 queued, 1 GiB of prompt cache. */
    public static ServerConfig defaults(String modelName) {
        return new ServerConfig("127.0.0.1", 0, 4, 16, null, SessionOptions.defaults(), Set.of(), 1L << 30, null, 0, null, modelName, Duration.ofSeconds(10), line -> {},
                ServerLimits.defaults(), null);
    }

    public ServerConfig withPort(int p) {
        return new ServerConfig(host, p, parallel, queue, apiKey, session, kvTypes, cacheBytes, cacheDir, cacheDiskBytes, slotSavePath, modelName, shutdownGrace, log, limits, chatTemplate);
    }

    public ServerConfig withSlots(int parallel, int queue) {
        return new ServerConfig(host, port, parallel, queue, apiKey, session, kvTypes, cacheBytes, cacheDir, cacheDiskBytes, slotSavePath, modelName, shutdownGrace, log, limits, chatTemplate);
    }

    public ServerConfig withApiKey(String key) {
        return new ServerConfig(host, port, parallel, queue, key, session, kvTypes, cacheBytes, cacheDir, cacheDiskBytes, slotSavePath, modelName, shutdownGrace, log, limits, chatTemplate);
    }

    public ServerConfig withSession(SessionOptions s) {
        return new ServerConfig(host, port, parallel, queue, apiKey, s, kvTypes, cacheBytes, cacheDir, cacheDiskBytes, slotSavePath, modelName, shutdownGrace, log, limits, chatTemplate);
    }

    /** Idle sessions spill to {@code dir}, up to {@code bytes} of files. */
    public ServerConfig withCacheDir(Path dir, long bytes) {
        return new ServerConfig(host, port, parallel, queue, apiKey, session, kvTypes, cacheBytes, dir, bytes, slotSavePath, modelName, shutdownGrace, log, limits, chatTemplate);
    }

    public ServerConfig withSlotSavePath(Path dir) {
        return new ServerConfig(host, port, parallel, queue, apiKey, session, kvTypes, cacheBytes, cacheDir, cacheDiskBytes, dir, modelName, shutdownGrace, log, limits, chatTemplate);
    }

    public ServerConfig withLimits(ServerLimits l) {
        return new ServerConfig(host, port, parallel, queue, apiKey, session, kvTypes, cacheBytes, cacheDir, cacheDiskBytes, slotSavePath, modelName, shutdownGrace, log, l, chatTemplate);
    }

    public ServerConfig withShutdownGrace(Duration grace) {
        return new ServerConfig(host, port, parallel, queue, apiKey, session, kvTypes, cacheBytes, cacheDir, cacheDiskBytes, slotSavePath, modelName, grace, log, limits, chatTemplate);
    }

    public ServerConfig withKvTypes(Set<KVType> types) {
        return new ServerConfig(host, port, parallel, queue, apiKey, session, types, cacheBytes, cacheDir, cacheDiskBytes, slotSavePath, modelName, shutdownGrace, log, limits, chatTemplate);
    }

    public ServerConfig withCacheBytes(long b) {
        return new ServerConfig(host, port, parallel, queue, apiKey, session, kvTypes, b, cacheDir, cacheDiskBytes, slotSavePath, modelName, shutdownGrace, log, limits, chatTemplate);
    }

    public ServerConfig withChatTemplate(String template) {
        return new ServerConfig(host, port, parallel, queue, apiKey, session, kvTypes, cacheBytes, cacheDir, cacheDiskBytes, slotSavePath, modelName, shutdownGrace, log, limits, template);
    }
}
