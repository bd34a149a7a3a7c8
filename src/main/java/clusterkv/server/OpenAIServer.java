package clusterkv.server;

import clusterkv.chat.ChatPrompt;
import clusterkv.chat.ChatTemplate;
import clusterkv.chat.ToolCallFormat;
import clusterkv.generate.LanguageModel;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An OpenAI-compatible HTTP server over one model: {@code POST /v1/chat/completions}, {@code POST /v1/completions}
 * (both with {@code stream: true} as server-sent events), {@code GET /v1/models}, {@code GET /health} and
 * {@code GET /metrics}. Each request has its own (virtual) handler thread, which reads it and then waits for the
 * {@link Scheduler}'s events; parsing and tokenizing run on a few platform threads (a megabyte prompt on a virtual
 * thread would hold one of the few carrier threads, and /health with it), and the model only ever runs on the
 * scheduler's thread. What one client may cost is bounded by {@link ServerLimits}. Closing answers 503 to new
 * requests, /health included, while requests in flight finish within the grace period, then frees every session.
 */
public final class OpenAIServer implements AutoCloseable {

    /** How often a non-streaming handler checks, between tokens, that its client is still there. */
    private static final long PROBE_MILLIS = 50;
    /** How long a refused request's connection may still deliver body bytes before it is closed. */
    private static final Duration LINGER = Duration.ofSeconds(1);
    /** The deadline on reading the headers of the request the current handler thread serves. */
    private static final ScopedValue<ReadDeadlines.Deadline> HEADERS = ScopedValue.newInstance();

    private record Route(String method, Handler handler) {}

    @FunctionalInterface
    private interface Handler {
        /** Answers the request and returns the HTTP status sent. */
        int handle(HttpExchange exchange) throws IOException;
    }

    private final ServerConfig config;
    private final ServerLimits limits;
    private final ObjectMapper json = new ObjectMapper();
    private final Metrics metrics = new Metrics();
    private final Requests requests;
    private final Responses responses;
    private final Scheduler scheduler;
    private final HttpServer http;
    private final ExecutorService handlers = Executors.newVirtualThreadPerTaskExecutor();
    private final ThreadPoolExecutor intake;
    private final ReadDeadlines deadlines = new ReadDeadlines();
    private final String templateNotice;
    private final Map<String, Route> routes;
    private final byte[] expectedAuthorization;
    private final long started = System.currentTimeMillis() / 1000;
    private final AtomicBoolean closing = new AtomicBoolean();
    /** Completion requests being handled, from their first byte of body to their last of answer. */
    private final AtomicInteger completions = new AtomicInteger();
    private final CountDownLatch closed = new CountDownLatch(1);

    private OpenAIServer(LanguageModel lm, ServerConfig config) throws IOException {
        this.config = config;
        this.limits = config.limits();
        ChatTemplate template = config.chatTemplate() != null ? ChatPrompt.templateOf(config.chatTemplate(), lm.tokenizer())
                : ChatPrompt.templateOf(lm.model().file().metadata(), lm.tokenizer());
        this.templateNotice = templateNotice(template);
        // queued bodies are at most what the scheduler could accept; beyond, 429 at once rather than parsed for nothing
        this.intake = new ThreadPoolExecutor(limits.intakeThreads(), limits.intakeThreads(), 0, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(config.parallel() + config.queue()), Thread.ofPlatform().name("clusterkv-intake-", 0).daemon().factory());
        int context = config.session().contextSize() == 0 ? lm.config().contextLength() : config.session().contextSize();
        this.requests = new Requests(json, lm.tokenizer(), template, config.session(), config.kvTypes(), lm.config().headDim(), context, config.parallel());
        this.responses = new Responses(json, config.modelName());
        DiskPromptCache disk = config.cacheDir() == null ? null : new DiskPromptCache(lm, config.cacheDir(), config.cacheDiskBytes(), metrics, config.log());
        this.scheduler = new Scheduler(lm, config.parallel(), config.queue(), new PromptCache(config.cacheBytes(), disk), metrics);
        this.expectedAuthorization = config.apiKey() == null ? null : ("Bearer " + config.apiKey()).getBytes(StandardCharsets.UTF_8);
        this.routes = Map.of(
                "/v1/chat/completions", new Route("POST", ex -> completion(ex, true)),
                "/v1/completions", new Route("POST", ex -> completion(ex, false)),
                "/v1/models", new Route("GET", ex -> sendJson(ex, 200, responses.models(started))),
                "/health", new Route("GET", this::health),
                "/metrics", new Route("GET", this::metrics),
                SLOTS, new Route("POST", this::slots));
        this.http = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 0);
        http.createContext("/", this::handle);
        http.setExecutor(this::execute);
    }

    /**
     * Runs one exchange of the JDK server, which starts by reading the request's headers on this thread: they must
     * arrive within the header timeout (a deadline that {@link #handle} disarms once they are in).
     */
    private void execute(Runnable exchange) {
        handlers.execute(() -> {
            ReadDeadlines.Deadline headers = deadlines.arm(limits.headerTimeout());
            try {
                ScopedValue.where(HEADERS, headers).run(exchange);
            } finally {
                headers.disarm();
            }
        });
    }

    /** The line to print at start when chat prompts use a built-in format, naming why; null when the model's template works. */
    static String templateNotice(ChatTemplate template) {
        if (!template.isFallback()) return null;
        String text = template.templateText();
        return (text == null || text.isBlank() ? "note: " : "warning: ") + template.fallbackReason();
    }

    /** See {@link #templateNotice(ChatTemplate)}: for the CLI to print (escaped: the reason quotes the model file). */
    public String chatTemplateNotice() {
        return templateNotice;
    }

    /** Why a non-streaming request whose client goes away runs on to its end; null when that is noticed. */
    public static String disconnectNotice() {
        return ClientProbe.UNAVAILABLE == null ? null
                : "warning: a non-streaming request whose client goes away runs to its end: " + ClientProbe.UNAVAILABLE;
    }

    /** Binds the port and starts serving. Fails (IOException) when the address is taken. */
    public static OpenAIServer start(LanguageModel lm, ServerConfig config) throws IOException {
        OpenAIServer server = new OpenAIServer(lm, config);
        server.scheduler.start();
        server.http.start();
        return server;
    }

    /** The bound port (the one picked when the configuration asked for 0). */
    public int port() {
        return http.getAddress().getPort();
    }

    // ---------------------------------------------------------------- routing

    private void handle(HttpExchange ex) {
        String path = ex.getRequestURI().getPath();
        String key = path.startsWith(SLOTS) ? SLOTS : path;
        Route route = routes.get(key);
        int status;
        try {
            status = dispatch(ex, path, route);
        } catch (ApiError e) {
            status = sendError(ex, e);
        } catch (IOException e) { // the client went away before its answer was written
            status = 499;
        } catch (Throwable t) { // a bug: answer 500, keep serving
            System.err.println("server: " + ex.getRequestMethod() + " " + path + ": " + t);
            status = sendError(ex, ApiError.internal("internal error: " + t));
        }
        // counted before the close that completes the response, so a client that got it sees it counted
        metrics.request(route == null ? "other" : key, status);
        finish(ex);
    }

    /**
     * Completes the exchange. The JDK then drains what is left of the request body (up to 64 KiB) before it reuses
     * the connection, which waits for a client that never sends it; a deadline bounds that wait, a short one when
     * the request was refused and its connection is to be closed anyway.
     */
    private void finish(HttpExchange ex) {
        boolean refused = "close".equals(ex.getResponseHeaders().getFirst("Connection"));
        ReadDeadlines.Deadline drain = deadlines.arm(refused ? LINGER : limits.bodyTimeout());
        try {
            ex.close();
        } finally {
            drain.disarm();
        }
    }

    private int dispatch(HttpExchange ex, String path, Route route) throws IOException {
        if (HEADERS.isBound() && !HEADERS.get().disarm()) throw dropped(ex, ApiError.timeout("request headers"));
        if (expectedAuthorization != null && !authorized(ex)) throw ApiError.unauthorized();
        if (route == null) throw ApiError.notFound(path);
        if (!route.method().equals(ex.getRequestMethod())) {
            ex.getResponseHeaders().set("Allow", route.method());
            throw ApiError.methodNotAllowed(ex.getRequestMethod(), path);
        }
        return route.handler().handle(ex);
    }

    private boolean authorized(HttpExchange ex) {
        String given = ex.getRequestHeaders().getFirst("Authorization");
        // constant-time comparison: the time taken says nothing about how much of the key was right
        return given != null && MessageDigest.isEqual(given.strip().getBytes(StandardCharsets.UTF_8), expectedAuthorization);
    }

    // ---------------------------------------------------------------- completions

    private int completion(HttpExchange ex, boolean chat) throws IOException {
        long arrived = System.nanoTime();
        completions.incrementAndGet();
        try {
            if (closing.get()) throw ApiError.unavailable("the server is shutting down");
            CompletionRequest request = parse(ex, chat, body(ex));
            Job job = new Job(request);
            if (!scheduler.submit(job)) throw busy(ex);
            return request.stream() ? stream(ex, job, arrived) : respond(ex, job, arrived);
        } finally {
            completions.decrementAndGet();
        }
    }

    private static ApiError busy(HttpExchange ex) {
        ex.getResponseHeaders().set("Retry-After", "1");
        return ApiError.busy();
    }

    /** Parses and tokenizes on the intake threads, this handler waiting: see the class comment for why. */
    private CompletionRequest parse(HttpExchange ex, boolean chat, byte[] body) {
        Future<CompletionRequest> parsed;
        try {
            parsed = intake.submit(() -> requests.parse(chat, body));
        } catch (RejectedExecutionException e) { // more bodies waiting than the scheduler could take
            throw busy(ex);
        }
        try {
            return parsed.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            parsed.cancel(true);
            Thread.currentThread().interrupt();
            throw ApiError.unavailable("the server is shutting down");
        }
    }

    /**
     * Waits for the whole generation, then answers in one JSON body. Between tokens (and every {@link #PROBE_MILLIS}
     * while there are none) it checks that the client is still there; if not, the job is cancelled, which frees its
     * slot within one decode round.
     */
    private int respond(HttpExchange ex, Job job, long arrived) throws IOException {
        ClientProbe client = ClientProbe.of(ex);
        boolean first = true;
        while (true) {
            Event event = next(job, PROBE_MILLIS);
            if ((event == null || event instanceof Event.Text) && client.gone()) {
                job.cancel();
                metrics.disconnects.increment();
                return 499;
            }
            switch (event) {
                case null -> {}
                case Event.Text t -> {
                    if (first) firstToken(arrived);
                    first = false;
                }
                case Event.Done d -> {
                    log(job, d, arrived);
                    return sendJson(ex, 200, responses.completion(job.request.chat(), Responses.Id.next(job.request.chat()), d, job.request.toolCalls()));
                }
                case Event.Failed f -> throw f.error();
            }
        }
    }

    /**
     * Streams the generation as server-sent events: for chat a first chunk with the role, then a chunk per text
     * piece, a last chunk with the finish reason, the usage chunk when asked, and [DONE]. A client that goes away
     * is noticed at the next write, and its job is cancelled (the scheduler drops it before its next token).
     */
    private int stream(HttpExchange ex, Job job, long arrived) throws IOException {
        boolean chat = job.request.chat(), usage = job.request.includeUsage();
        Responses.Id id = Responses.Id.next(chat);
        ToolCallHold hold = job.request.toolCalls() == null ? null : new ToolCallHold(job.request.toolCalls());
        SseWriter sse = null;
        try {
            while (true) {
                switch (next(job)) {
                    case Event.Text t -> {
                        if (sse == null) {
                            sse = open(ex, chat, id, usage);
                            firstToken(arrived);
                        }
                        String text = hold == null ? t.text() : hold.accept(t.text());
                        if (!text.isEmpty()) sse.send(responses.chunk(chat, id, null, text, null, usage));
                    }
                    case Event.Done d -> {
                        if (sse == null) sse = open(ex, chat, id, usage);
                        String finish = Responses.finishReason(d.reason());
                        if (hold != null) {
                            ToolCallFormat.Reply reply = job.request.toolCalls().parse(d.text());
                            if (reply.calls().isEmpty()) {
                                if (!hold.rest().isEmpty()) sse.send(responses.chunk(chat, id, null, hold.rest(), null, usage));
                            } else {
                                sse.send(responses.toolCallChunk(id, reply, usage));
                                finish = "tool_calls";
                            }
                        }
                        sse.send(responses.chunk(chat, id, null, chat ? null : "", finish, usage));
                        if (usage) sse.send(responses.usageChunk(chat, id, d.usage()));
                        sse.done();
                        log(job, d, arrived);
                        return 200;
                    }
                    case Event.Failed f -> {
                        if (sse == null) throw f.error(); // nothing sent yet: a plain error response
                        sse.send(f.error().toJson(json));
                        sse.done();
                        return 200;
                    }
                }
            }
        } catch (IOException e) {
            job.cancel();
            metrics.disconnects.increment();
            return 499;
        }
    }

    private SseWriter open(HttpExchange ex, boolean chat, Responses.Id id, boolean usage) throws IOException {
        SseWriter sse = new SseWriter(ex, json);
        if (chat) sse.send(responses.chunk(true, id, "assistant", "", null, usage));
        return sse;
    }

    private Event next(Job job) {
        return next(job, -1);
    }

    /** The job's next event; with a time (millis >= 0), null when none came within it. */
    private Event next(Job job, long millis) {
        try {
            return millis < 0 ? job.next() : job.next(millis);
        } catch (InterruptedException e) {
            job.cancel();
            Thread.currentThread().interrupt();
            throw ApiError.unavailable("the server is shutting down");
        }
    }

    private void firstToken(long arrived) {
        metrics.firstTokenNanos.add(System.nanoTime() - arrived);
        metrics.firstTokenCount.increment();
    }

    private void log(Job job, Event.Done d, long arrived) {
        Usage u = d.usage();
        config.log().accept(String.format("%s: prompt %d tokens (%d cached), generated %d, %s, %.0f ms",
                job.request.chat() ? "chat" : "completion", u.promptTokens(), u.cachedTokens(), u.completionTokens(),
                Responses.finishReason(d.reason()), (System.nanoTime() - arrived) / 1e6));
    }

    // ---------------------------------------------------------------- slots

    private static final String SLOTS = "/slots/";

    /**
     * llama-server's POST /slots/{id}?action=save|restore|erase: a slot is the session that requests naming it in
     * id_slot continue and leave behind; save writes it to --slot-save-path/filename as a session file, restore puts
     * a saved one back (also in a later run), erase frees it. The answers carry llama-server's fields.
     */
    private int slots(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        int slot;
        try {
            slot = Integer.parseInt(path.substring(SLOTS.length()));
        } catch (NumberFormatException e) {
            throw ApiError.badRequest("id_slot", "the slot must be a number in /slots/{id}, got '" + path.substring(SLOTS.length()) + "'");
        }
        if (slot < 0 || slot >= config.parallel()) throw ApiError.badRequest("id_slot", "id_slot must be in [0, " + (config.parallel() - 1) + "], got " + slot);
        String query = ex.getRequestURI().getQuery();
        String action = query != null && query.startsWith("action=") ? query.substring("action=".length()) : "";
        if (!List.of("save", "restore", "erase").contains(action)) {
            throw ApiError.badRequest("action", "action must be save, restore or erase, got '" + action + "'");
        }
        ObjectNode out = json.createObjectNode().put("id_slot", slot);
        long t0 = System.nanoTime();
        if (action.equals("erase")) {
            out.put("n_erased", await(scheduler.eraseSlot(slot)).tokens());
            return sendJson(ex, 200, out);
        }
        if (config.slotSavePath() == null) throw new ApiError(501, "not_supported_error", "slot " + action + " needs the server started with --slot-save-path DIR", null, "not_supported");
        String filename = slotFile(body(ex));
        Path file = config.slotSavePath().resolve(filename);
        out.put("filename", filename);
        if (action.equals("save")) {
            Scheduler.SlotResult r = await(scheduler.saveSlot(slot, file));
            out.put("n_saved", r.tokens()).put("n_written", r.bytes());
            out.putObject("timings").put("save_ms", (System.nanoTime() - t0) / 1e6);
        } else {
            Scheduler.SlotResult r = await(scheduler.restoreSlot(slot, file, config.session()));
            out.put("n_restored", r.tokens()).put("n_read", r.bytes());
            out.putObject("timings").put("restore_ms", (System.nanoTime() - t0) / 1e6);
        }
        return sendJson(ex, 200, out);
    }

    /** The body's filename: one plain name inside --slot-save-path (no folders, no dot names), as llama-server checks. */
    private String slotFile(byte[] body) {
        JsonNode root;
        try {
            root = json.readTree(body);
        } catch (IOException e) {
            throw ApiError.badRequest(null, "malformed JSON in the request body");
        }
        JsonNode name = root == null ? null : root.get("filename");
        if (name == null || !name.isTextual()) throw ApiError.badRequest("filename", "filename (a string) is required");
        String f = name.asText();
        if (f.isEmpty() || f.length() > 255 || f.equals(".") || f.equals("..") || f.startsWith(".") || f.contains("/") || f.contains("\\")
                || f.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw ApiError.badRequest("filename", "filename must be a plain file name (no folders, not starting with a dot), got '" + f + "'");
        }
        return f;
    }

    private static <T> T await(java.util.concurrent.CompletableFuture<T> f) {
        try {
            return f.get(10, java.util.concurrent.TimeUnit.MINUTES);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof ApiError a) throw a;
            throw ApiError.internal("slot action failed: " + e.getCause());
        } catch (InterruptedException | java.util.concurrent.TimeoutException e) {
            throw ApiError.unavailable("the slot action did not finish");
        }
    }

    // ---------------------------------------------------------------- the rest

    private int health(HttpExchange ex) throws IOException {
        boolean up = !closing.get();
        return sendJson(ex, up ? 200 : 503, json.createObjectNode().put("status", up ? "ok" : "shutting down"));
    }

    private int metrics(HttpExchange ex) throws IOException {
        byte[] body = metrics.render().getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        ex.sendResponseHeaders(200, body.length);
        ex.getResponseBody().write(body);
        return 200;
    }

    /**
     * The request body, at most the limit: a larger declared length is refused before reading a byte of it, a
     * chunked body as soon as it passes the limit; either way the connection is closed after the 413, since the
     * rest of the body is still on its way. The whole body must arrive within the body timeout.
     */
    private byte[] body(HttpExchange ex) throws IOException {
        long limit = limits.maxBodyBytes();
        String length = ex.getRequestHeaders().getFirst("Content-Length"); // the JDK has checked it is one number >= 0
        long declared = length == null ? -1 : Long.parseLong(length.strip());
        if (declared > limit) throw tooLarge(ex, limit);
        ReadDeadlines.Deadline deadline = deadlines.arm(limits.bodyTimeout());
        byte[] body;
        try {
            body = Bodies.read(ex.getRequestBody(), declared, limit);
        } finally {
            if (!deadline.disarm()) throw dropped(ex, ApiError.timeout("request body"));
        }
        if (body.length > limit) throw tooLarge(ex, limit);
        return body;
    }

    private static ApiError tooLarge(HttpExchange ex, long limit) {
        return dropped(ex, ApiError.tooLarge(limit));
    }

    /** An error after which the connection is closed: what is left of the request is not worth reading. */
    private static ApiError dropped(HttpExchange ex, ApiError e) {
        ex.getResponseHeaders().set("Connection", "close");
        return e;
    }

    private int sendJson(HttpExchange ex, int status, JsonNode node) throws IOException {
        byte[] body = json.writeValueAsBytes(node);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, body.length);
        ex.getResponseBody().write(body);
        ex.getResponseBody().flush(); // now: closing the exchange first drains the request body, which may not come
        return status;
    }

    /** Answers an error; a client that is gone by now gets nothing. */
    private int sendError(HttpExchange ex, ApiError e) {
        try {
            sendJson(ex, e.status, e.toJson(json));
        } catch (IOException | RuntimeException ignored) {
            // the client went away, or the headers were already sent
        }
        return e.status;
    }

    // ---------------------------------------------------------------- lifecycle

    /**
     * Answers 503 to new requests (/health included, so a load balancer sees the server going) while it waits up to
     * the grace period for the completions in flight (streams included) to finish, then fails what is left with 503,
     * closes the listener and frees every session. Idempotent; safe from a shutdown hook.
     */
    @Override
    public void close() {
        if (!closing.compareAndSet(false, true)) {
            awaitClosed();
            return;
        }
        try {
            awaitCompletions(System.nanoTime() + config.shutdownGrace().toNanos());
            scheduler.close();
            http.stop(1); // a second for the handlers to send the 503s the scheduler just gave them
            intake.shutdownNow();
            handlers.shutdownNow();
            deadlines.close();
        } finally {
            closed.countDown();
        }
    }

    private void awaitCompletions(long deadline) {
        try {
            while (completions.get() > 0 && System.nanoTime() < deadline) Thread.sleep(10);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Blocks until {@link #close()} has finished. */
    public void awaitClosed() {
        try {
            closed.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
