package clusterkv.server;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The server's counters and gauges, rendered in Prometheus' text format for {@code GET /metrics}.
 * Counters are bumped by any thread; the gauges of the compute state (sessions, queue, KV memory) are
 * published by the scheduler thread after each round, since only it may look at sessions.
 */
final class Metrics {

    /** A snapshot of the scheduler's state. */
    record Gauges(int activeSessions, int queueLength, int cachedSessions, long kvResidentActive, long kvResidentCached,
                  long kvAllocatedActive, long kvAllocatedCached) {
        static final Gauges EMPTY = new Gauges(0, 0, 0, 0, 0, 0, 0);
    }

    private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
    final LongAdder promptTokens = new LongAdder();
    final LongAdder cachedPromptTokens = new LongAdder();
    final LongAdder prefillTokens = new LongAdder();
    final LongAdder prefillNanos = new LongAdder();
    final LongAdder decodeTokens = new LongAdder();
    final LongAdder decodeNanos = new LongAdder();
    final LongAdder decodeSteps = new LongAdder();
    final LongAdder firstTokenNanos = new LongAdder();
    final LongAdder firstTokenCount = new LongAdder();
    final LongAdder disconnects = new LongAdder();
    final LongAdder diskSpills = new LongAdder();
    final LongAdder diskHits = new LongAdder();
    final LongAdder diskHitBytes = new LongAdder();
    final LongAdder diskRestoreNanos = new LongAdder();
    final LongAdder diskBytes = new LongAdder();
    private volatile Gauges gauges = Gauges.EMPTY;

    void request(String endpoint, int status) {
        requests.computeIfAbsent(endpoint + "\u0000" + status, k -> new LongAdder()).increment();
    }

    void publish(Gauges g) {
        gauges = g;
    }

    Gauges gauges() {
        return gauges;
    }

    String render() {
        StringBuilder out = new StringBuilder();
        header(out, "clusterkv_requests_total", "counter", "HTTP requests by endpoint and status (499: the client went away mid-stream).");
        new TreeMap<>(requests).forEach((key, n) -> {
            String[] parts = key.split("\u0000");
            out.append("clusterkv_requests_total{endpoint=\"").append(parts[0]).append("\",status=\"").append(parts[1]).append("\"} ")
                    .append(n.sum()).append('\n');
        });
        counter(out, "clusterkv_prompt_tokens_total", "Prompt tokens of completed requests.", promptTokens.sum());
        counter(out, "clusterkv_prompt_tokens_cached_total", "Prompt tokens whose KV cache was reused from an earlier request (not prefilled).", cachedPromptTokens.sum());
        counter(out, "clusterkv_generated_tokens_total", "Tokens generated.", decodeTokens.sum()); // every generated token is one decoded row
        counter(out, "clusterkv_prefill_tokens_total", "Prompt tokens run through the model.", prefillTokens.sum());
        counter(out, "clusterkv_prefill_seconds_total", "Compute time spent prefilling.", prefillNanos.sum() / 1e9);
        counter(out, "clusterkv_decode_tokens_total", "Tokens decoded (a batched decode step counts one per sequence).", decodeTokens.sum());
        counter(out, "clusterkv_decode_seconds_total", "Compute time spent decoding.", decodeNanos.sum() / 1e9);
        counter(out, "clusterkv_decode_steps_total", "Batched decode steps run, each one forward pass over every decoding sequence (decode tokens / steps = the mean batch).", decodeSteps.sum());
        gauge(out, "clusterkv_prefill_tokens_per_second", "Prefill throughput over the server's life (tokens / compute seconds).", rate(prefillTokens, prefillNanos));
        gauge(out, "clusterkv_decode_tokens_per_second", "Decode throughput over the server's life (tokens / compute seconds; the sequences of a batched step count together).", rate(decodeTokens, decodeNanos));
        header(out, "clusterkv_time_to_first_token_seconds", "summary", "Time from a request's arrival to its first generated text.");
        out.append("clusterkv_time_to_first_token_seconds_sum ").append(format(firstTokenNanos.sum() / 1e9)).append('\n');
        out.append("clusterkv_time_to_first_token_seconds_count ").append(firstTokenCount.sum()).append('\n');
        counter(out, "clusterkv_client_disconnects_total", "Streams whose client went away before the end.", disconnects.sum());
        counter(out, "clusterkv_disk_cache_spills_total", "Idle sessions the prompt cache let go that were saved to --cache-dir.", diskSpills.sum());
        counter(out, "clusterkv_disk_cache_hits_total", "Requests whose prompt prefix came back from a session file in --cache-dir.", diskHits.sum());
        counter(out, "clusterkv_disk_cache_hit_bytes_total", "Bytes of the session files that came back (mapped; pages are read as attention touches them).", diskHitBytes.sum());
        counter(out, "clusterkv_disk_cache_restore_seconds_total", "Time spent reopening session files.", diskRestoreNanos.sum() / 1e9);
        gauge(out, "clusterkv_disk_cache_bytes", "Bytes of the session files in --cache-dir.", diskBytes.sum());
        Gauges g = gauges;
        gauge(out, "clusterkv_active_sessions", "Requests being prefilled or decoded.", g.activeSessions());
        gauge(out, "clusterkv_queue_length", "Accepted requests waiting for a slot.", g.queueLength());
        gauge(out, "clusterkv_cached_sessions", "Idle sessions kept for prompt-prefix reuse.", g.cachedSessions());
        header(out, "clusterkv_kv_bytes_resident", "gauge", "KV cache and policy index bytes for the tokens held.");
        out.append("clusterkv_kv_bytes_resident{state=\"active\"} ").append(g.kvResidentActive()).append('\n');
        out.append("clusterkv_kv_bytes_resident{state=\"cached\"} ").append(g.kvResidentCached()).append('\n');
        header(out, "clusterkv_kv_bytes_allocated", "gauge", "KV cache bytes allocated (whole context per session) plus index.");
        out.append("clusterkv_kv_bytes_allocated{state=\"active\"} ").append(g.kvAllocatedActive()).append('\n');
        out.append("clusterkv_kv_bytes_allocated{state=\"cached\"} ").append(g.kvAllocatedCached()).append('\n');
        return out.toString();
    }

    private static double rate(LongAdder tokens, LongAdder nanos) {
        long t = nanos.sum();
        return t == 0 ? 0 : tokens.sum() / (t / 1e9);
    }

    private static void header(StringBuilder out, String name, String type, String help) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void counter(StringBuilder out, String name, String help, double value) {
        header(out, name, "counter", help);
        out.append(name).append(' ').append(format(value)).append('\n');
    }

    private static void gauge(StringBuilder out, String name, String help, double value) {
        header(out, name, "gauge", help);
        out.append(name).append(' ').append(format(value)).append('\n');
    }

    private static String format(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }
}
