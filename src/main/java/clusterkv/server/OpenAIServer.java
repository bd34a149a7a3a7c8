package clusterkv.server;

import clusterkv.chat.ChatPrompt;
import clusterkv.chat.ChatTemplate;
import clusterkv.generate.LanguageModel;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An OpenAI-compatible HTTP server over one model: {@code POST /v1/chat/completions}, {@code POST /v1/completions}
 * (both with {@code stream: true} as server-sent events), {@code GET /v1/models}, {@code GET /health} and
 * {@code GET /metrics}. Each request has its own (virtual) handler thread, which parses and tokenizes it and
 * then waits for the {@link Scheduler}'s events; the model itself only ever runs on the scheduler's thread.
 * Closing stops accepting connections, lets requests in flight finish within the grace period, then frees
 * every session.
 */
public final class OpenAIServer implements AutoCloseable {

    private static final int MAX_BODY_BYTES = 16 << 20;

    private record Route(String method, Handler handler) {}

    @FunctionalInterface
    private interface Handler {
        /** Answers the request and returns the HTTP status sent. */
        int handle(HttpExchange exchange) throws IOException;
    }

    private final ServerConfig config;
    private final ObjectMapper json = new ObjectMapper();
    private final Metrics metrics = new Metrics();
    private final Requests requests;
    private final Responses responses;
    private final Scheduler scheduler;
    private final HttpServer http;
    private final ExecutorService handlers = Executors.newVirtualThreadPerTaskExecutor();
    private final Map<String, Route> routes;
    private final byte[] expectedAuthorization;
    private final long started = System.currentTimeMillis() / 1000;
    private final AtomicBoolean closing = new AtomicBoolean();
    private final CountDownLatch closed = new CountDownLatch(1);

    private OpenAIServer(LanguageModel lm, ServerConfig config) throws IOException {
        this.config = config;
        ChatTemplate template = ChatPrompt.templateOf(lm.model().file().metadata(), lm.tokenizer());
        int context = config.session().contextSize() == 0 ? lm.config().contextLength() : config.session().contextSize();
        this.requests = new Requests(json, lm.tokenizer(), template, config.session(), context);
        this.responses = new Responses(json, config.modelName());
        this.scheduler = new Scheduler(lm, config.parallel(), config.queue(), config.cacheBytes(), metrics);
        this.expectedAuthorization = config.apiKey() == null ? null : ("Bearer " + config.apiKey()).getBytes(StandardCharsets.UTF_8);
        this.routes = Map.of(
                "/v1/chat/completions", new Route("POST", ex -> completion(ex, true)),
                "/v1/completions", new Route("POST", ex -> completion(ex, false)),
                "/v1/models", new Route("GET", ex -> sendJson(ex, 200, responses.models(started))),
                "/health", new Route("GET", this::health),
                "/metrics", new Route("GET", this::metrics));
        this.http = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 0);
        http.createContext("/", this::handle);
        http.setExecutor(handlers);
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
        Route route = routes.get(path);
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
        metrics.request(route == null ? "other" : path, status);
        ex.close();
    }

    private int dispatch(HttpExchange ex, String path, Route route) throws IOException {
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
        if (closing.get()) throw ApiError.unavailable("the server is shutting down");
        CompletionRequest request = requests.parse(chat, body(ex));
        Job job = new Job(request);
        if (!scheduler.submit(job)) {
            ex.getResponseHeaders().set("Retry-After", "1");
            throw ApiError.busy();
        }
        return request.stream() ? stream(ex, job, arrived) : respond(ex, job, arrived);
    }

    /** Waits for the whole generation, then answers in one JSON body. */
    private int respond(HttpExchange ex, Job job, long arrived) throws IOException {
        boolean first = true;
        while (true) {
            switch (next(job)) {
                case Event.Text t -> {
                    if (first) firstToken(arrived);
                    first = false;
                }
                case Event.Done d -> {
                    log(job, d, arrived);
                    return sendJson(ex, 200, responses.completion(job.request.chat(), Responses.Id.next(job.request.chat()), d));
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
        SseWriter sse = null;
        try {
            while (true) {
                switch (next(job)) {
                    case Event.Text t -> {
                        if (sse == null) {
                            sse = open(ex, chat, id, usage);
                            firstToken(arrived);
                        }
                        sse.send(responses.chunk(chat, id, null, t.text(), null, usage));
                    }
                    case Event.Done d -> {
                        if (sse == null) sse = open(ex, chat, id, usage);
                        sse.send(responses.chunk(chat, id, null, chat ? null : "", d.reason(), usage));
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
        try {
            return job.next();
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

    private static byte[] body(HttpExchange ex) throws IOException {
        byte[] body = ex.getRequestBody().readNBytes(MAX_BODY_BYTES + 1);
        if (body.length > MAX_BODY_BYTES) throw ApiError.tooLarge(MAX_BODY_BYTES);
        return body;
    }

    private int sendJson(HttpExchange ex, int status, JsonNode node) throws IOException {
        byte[] body = json.writeValueAsBytes(node);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, body.length);
        ex.getResponseBody().write(body);
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
     * Stops accepting connections, waits up to the grace period for requests in flight (streams included) to
     * finish, fails what is left with 503, and frees every session. Idempotent; safe from a shutdown hook.
     */
    @Override
    public void close() {
        if (!closing.compareAndSet(false, true)) {
            awaitClosed();
            return;
        }
        try {
            http.stop((int) Math.max(0, config.shutdownGrace().toSeconds()));
            scheduler.close();
            handlers.shutdownNow();
        } finally {
            closed.countDown();
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
