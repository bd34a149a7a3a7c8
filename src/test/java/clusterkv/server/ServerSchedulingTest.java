package clusterkv.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.net.ConnectException;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static clusterkv.server.TestServer.json;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The scheduler: interleaved requests each get their own answer (decoded in batches), a full queue answers 429, a
 * client that goes away frees its slot, and closing lets streams in flight finish. Long requests use greedy
 * "Once upon a time", which stories260K continues for more than 2000 tokens without an end-of-text token.
 */
class ServerSchedulingTest {

    /** About a second and a half of decoding on stories260K. */
    private static final String LONG = "{\"prompt\": \"Once upon a time\", \"max_tokens\": 1900, \"temperature\": 0, \"stream\": true}";

    @Test
    void interleavedRequestsEachGetTheirOwnAnswer() throws Exception {
        try (TestServer server = new TestServer(512, c -> c.withSlots(3, 4).withCacheBytes(0))) {
            String[] prompts = {"Once upon a time", "The little dog", "Tom and Mia went to the park", "One day, a big bird"};
            List<CompletableFuture<HttpResponse<String>>> pending = new ArrayList<>();
            for (int i = 0; i < prompts.length; i++) {
                String body = "{\"prompt\": \"" + prompts[i] + "\", \"max_tokens\": 60, \"temperature\": 0, \"stream\": " + (i % 2 == 0) + "}";
                pending.add(server.http.sendAsync(java.net.http.HttpRequest.newBuilder(server.base.resolve("/v1/completions"))
                        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString()));
            }
            for (int i = 0; i < prompts.length; i++) {
                HttpResponse<String> r = pending.get(i).get(60, TimeUnit.SECONDS);
                assertEquals(200, r.statusCode(), r.body());
                String text = i % 2 == 0 ? streamedText(r.body()) : json(r).get("choices").get(0).get("text").asText();
                assertEquals(server.reference(server.completionTokens(prompts[i]), 60), text, prompts[i]);
            }
            // decoded in batches: fewer forward passes than tokens (up to 3 sequences per pass)
            double tokens = server.metric("clusterkv_decode_tokens_total"), steps = server.metric("clusterkv_decode_steps_total");
            assertEquals(server.metric("clusterkv_generated_tokens_total"), tokens);
            assertTrue(steps < tokens && steps >= tokens / 3, steps + " steps for " + tokens + " tokens");
        }
    }

    @Test
    void aFullQueueAnswers429WithRetryAfter() throws Exception {
        try (TestServer server = new TestServer(2048, c -> c.withSlots(1, 1).withCacheBytes(0));
             var running = new TestServer.RawStream(server.server.port(), "/v1/completions", LONG)) {
            assertNotNull(running.nextEvent()); // the one slot is busy
            var queued = server.http.sendAsync(java.net.http.HttpRequest.newBuilder(server.base.resolve("/v1/completions"))
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"prompt\": \"A cat\", \"max_tokens\": 4}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            server.awaitMetric("clusterkv_queue_length", 1);

            HttpResponse<String> refused = server.post("/v1/completions", "{\"prompt\": \"A dog\", \"max_tokens\": 4}");
            assertEquals(429, refused.statusCode(), refused.body());
            assertEquals("1", refused.headers().firstValue("Retry-After").orElse(null));
            assertEquals("rate_limit_exceeded", json(refused).get("error").get("code").asText());

            running.close(); // frees the slot: the queued request runs
            assertEquals(200, queued.get(30, TimeUnit.SECONDS).statusCode());
            assertTrue(server.get("/metrics").body().contains("clusterkv_requests_total{endpoint=\"/v1/completions\",status=\"429\"} 1"));
        }
    }

    @Test
    void aClientThatGoesAwayFreesItsSlot() throws Exception {
        try (TestServer server = new TestServer(2048, c -> c.withSlots(1, 0))) {
            try (var stream = new TestServer.RawStream(server.server.port(), "/v1/completions", LONG)) {
                for (int i = 0; i < 3; i++) assertNotNull(stream.nextEvent());
            }
            server.awaitMetric("clusterkv_active_sessions", 0);
            assertEquals(1, server.metric("clusterkv_client_disconnects_total"));
            double generated = server.metric("clusterkv_generated_tokens_total");
            assertTrue(generated < 1900, "generation stopped early: " + generated + " tokens");

            HttpResponse<String> next = server.post("/v1/completions", "{\"prompt\": \"A cat\", \"max_tokens\": 4}");
            assertEquals(200, next.statusCode(), next.body());
            assertEquals(generated + 4, server.metric("clusterkv_generated_tokens_total"), "nothing more was generated for the cancelled request");
            assertTrue(server.get("/metrics").body().contains("status=\"499\"} 1"));
        }
    }

    @Test
    void aNonStreamingClientThatGoesAwayFreesItsSlot() throws Exception {
        try (TestServer server = new TestServer(2048, c -> c.withSlots(1, 0).withCacheBytes(0))) {
            try (var abandoned = new TestServer.RawStream(server.server.port(), "/v1/completions", LONG.replace("true", "false"))) {
                server.awaitMetric("clusterkv_active_sessions", 1);
                while (server.metric("clusterkv_generated_tokens_total") == 0) Thread.sleep(5); // generating, not prefilling
            } // the client goes away without reading a byte
            server.awaitMetric("clusterkv_active_sessions", 0);
            assertEquals(1, server.metric("clusterkv_client_disconnects_total"));
            double generated = server.metric("clusterkv_generated_tokens_total");
            assertTrue(generated < 1900, "generation stopped early: " + generated + " tokens");

            HttpResponse<String> next = server.post("/v1/completions", "{\"prompt\": \"A cat\", \"max_tokens\": 4}");
            assertEquals(200, next.statusCode(), "the slot is free again: " + next.body());
            assertTrue(server.get("/metrics").body().contains("status=\"499\"} 1"));
        }
    }

    @Test
    void closingAnswers503WhileStreamsInFlightFinish() throws Exception {
        TestServer server = new TestServer(1024, c -> c.withSlots(1, 0));
        try (var stream = new TestServer.RawStream(server.server.port(), "/v1/completions",
                "{\"prompt\": \"Once upon a time\", \"max_tokens\": 400, \"temperature\": 0, \"stream\": true}")) {
            assertNotNull(stream.nextEvent());
            var closing = CompletableFuture.runAsync(server::close);
            long deadline = System.nanoTime() + 5_000_000_000L;
            HttpResponse<String> health;
            while ((health = server.get("/health")).statusCode() == 200) { // closing has not begun yet
                assertTrue(System.nanoTime() < deadline, "/health still says ok");
                Thread.sleep(5);
            }
            assertEquals(503, health.statusCode(), health.body());
            assertEquals("shutting down", json(health).get("status").asText());
            HttpResponse<String> refused = server.post("/v1/completions", "{\"prompt\": \"A cat\", \"max_tokens\": 4}");
            assertEquals(503, refused.statusCode(), refused.body());

            String last = null;
            int events = 1;
            for (String e; (e = stream.nextEvent()) != null; events++) last = e;
            assertEquals("[DONE]", last, "the stream ran to its end");
            assertTrue(events > 400 / 2, "most tokens arrived after closing began: " + events);
            closing.get(15, TimeUnit.SECONDS);
            assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", server.server.port()).close(), "closed: no more connections");
        }
    }

    private static String streamedText(String body) throws Exception {
        StringBuilder text = new StringBuilder();
        for (String e : TestServer.events(body)) {
            if (e.equals("[DONE]")) break;
            JsonNode chunk = TestServer.JSON.readTree(e);
            text.append(chunk.get("choices").get(0).get("text").asText());
        }
        return text.toString();
    }
}
