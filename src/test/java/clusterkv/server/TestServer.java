package clusterkv.server;

import clusterkv.chat.ChatMessage;
import clusterkv.chat.ChatPrompt;
import clusterkv.generate.GenerationOptions;
import clusterkv.generate.LanguageModel;
import clusterkv.generate.Session;
import clusterkv.generate.SessionOptions;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/** An in-process server on stories260K at an ephemeral port, and a small client for it. */
final class TestServer implements AutoCloseable {

    static final Path MODEL = Path.of("src/test/data/models/stories260K.gguf");
    static final ObjectMapper JSON = new ObjectMapper();

    final LanguageModel lm;
    final ServerConfig config;
    final OpenAIServer server;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
    final URI base;

    TestServer(int contextSize, UnaryOperator<ServerConfig> tweak) throws IOException {
        lm = LanguageModel.load(MODEL);
        config = tweak.apply(ServerConfig.defaults("stories260K").withSession(SessionOptions.defaults().withContextSize(contextSize)));
        server = OpenAIServer.start(lm, config);
        base = URI.create("http://127.0.0.1:" + server.port());
    }

    HttpResponse<String> post(String path, String body) throws Exception {
        return send(HttpRequest.newBuilder(base.resolve(path)).POST(HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json"));
    }

    HttpResponse<String> get(String path) throws Exception {
        return send(HttpRequest.newBuilder(base.resolve(path)).GET());
    }

    HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
        if (config.apiKey() != null && request.build().headers().firstValue("Authorization").isEmpty()) {
            request.header("Authorization", "Bearer " + config.apiKey());
        }
        return http.send(request.timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode json(HttpResponse<String> r) throws IOException {
        return JSON.readTree(r.body());
    }

    /** The payloads of an SSE body's data events, "[DONE]" included as text. */
    static List<String> events(String body) {
        List<String> data = new ArrayList<>();
        for (String block : body.split("\n\n")) {
            if (block.isBlank()) continue;
            if (!block.startsWith("data: ")) throw new AssertionError("not an SSE data event: " + block);
            data.add(block.substring("data: ".length()));
        }
        return data;
    }

    /** The value of an unlabelled (or exactly labelled) metric line, e.g. {@code clusterkv_active_sessions}. */
    double metric(String series) throws Exception {
        for (String line : get("/metrics").body().split("\n")) {
            if (line.startsWith(series + " ")) return Double.parseDouble(line.substring(series.length() + 1));
        }
        return Double.NaN;
    }

    /** What Session.generate gives for these tokens on a fresh session: the independent reference. */
    String reference(int[] prompt, GenerationOptions options, SessionOptions session) {
        try (Session s = lm.newSession(session)) {
            return s.generate(prompt, options, text -> {}, null).text();
        }
    }

    String reference(int[] prompt, int maxTokens) {
        return reference(prompt, GenerationOptions.greedy(maxTokens), config.session());
    }

    int[] completionTokens(String prompt) {
        return lm.tokenizer().encode(prompt, true, false);
    }

    int[] chatTokens(List<ChatMessage> messages) {
        return ChatPrompt.encode(lm.tokenizer(), ChatPrompt.templateOf(lm.model().file().metadata(), lm.tokenizer()).render(messages, true));
    }

    /** Polls until the metric has the value, or fails after 10 s. */
    void awaitMetric(String series, double value) throws Exception {
        long end = System.nanoTime() + 10_000_000_000L;
        while (metric(series) != value) {
            if (System.nanoTime() > end) throw new AssertionError(series + " is " + metric(series) + ", expected " + value);
            Thread.sleep(20);
        }
    }

    /** A streaming request on a raw socket: a test can read part of the stream and then drop the connection. */
    static final class RawStream implements AutoCloseable {
        private final java.net.Socket socket;
        private final java.io.BufferedReader in;

        RawStream(int port, String path, String body) throws IOException {
            socket = new java.net.Socket("127.0.0.1", port);
            byte[] bytes = body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            String head = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " + bytes.length + "\r\n\r\n";
            var out = socket.getOutputStream();
            out.write(head.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            out.write(bytes);
            out.flush();
            in = new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
        }

        /** The payload of the next SSE data event (chunk-size lines and headers skipped), or null at the end. */
        String nextEvent() throws IOException {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.startsWith("data: ")) return line.substring("data: ".length());
            }
            return null;
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    @Override
    public void close() {
        server.close();
        lm.close();
    }
}
