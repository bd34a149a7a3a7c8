package clusterkv.server;

import clusterkv.chat.ChatMessage;
import clusterkv.generate.GenerationOptions;
import clusterkv.generate.SamplingParams;
import clusterkv.kv.PolicyConfig;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.List;

import static clusterkv.server.TestServer.events;
import static clusterkv.server.TestServer.json;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The OpenAI endpoints on stories260K: response schemas, usage against the tokenizer's counts, and greedy text
 * against Session.generate on a fresh session (an independent path). The prompt cache is off here, so every
 * request is prefilled from scratch and the comparisons are exact.
 */
class ServerApiTest {

    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = new TestServer(256, c -> c.withCacheBytes(0));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String chatBody(String user, int maxTokens, String extra) {
        return "{\"model\": \"x\", \"messages\": [{\"role\": \"user\", \"content\": \"" + user + "\"}], \"max_tokens\": " + maxTokens
                + ", \"temperature\": 0" + extra + "}";
    }

    @Test
    void chatCompletion() throws Exception {
        HttpResponse<String> r = server.post("/v1/chat/completions", chatBody("Tell me about a cat.", 24, ""));
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
        JsonNode body = json(r);
        assertTrue(body.get("id").asText().startsWith("chatcmpl-"));
        assertEquals("chat.completion", body.get("object").asText());
        assertEquals("stories260K", body.get("model").asText());
        assertTrue(body.get("created").isIntegralNumber());
        JsonNode choice = body.get("choices").get(0);
        assertEquals(0, choice.get("index").asInt());
        assertEquals("assistant", choice.get("message").get("role").asText());

        int[] prompt = server.chatTokens(List.of(ChatMessage.user("Tell me about a cat.")));
        String expected = server.reference(prompt, 24);
        assertEquals(expected, choice.get("message").get("content").asText());
        JsonNode usage = body.get("usage");
        assertEquals(prompt.length, usage.get("prompt_tokens").asInt());
        int completion = usage.get("completion_tokens").asInt();
        assertEquals(prompt.length + completion, usage.get("total_tokens").asInt());
        assertEquals(0, usage.get("prompt_tokens_details").get("cached_tokens").asInt());
        assertEquals(completion == 24 ? "length" : "stop", choice.get("finish_reason").asText());
    }

    @Test
    void textCompletion() throws Exception {
        HttpResponse<String> r = server.post("/v1/completions", "{\"prompt\": \"Once upon a time\", \"max_tokens\": 30, \"temperature\": 0}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode body = json(r);
        assertTrue(body.get("id").asText().startsWith("cmpl-"));
        assertEquals("text_completion", body.get("object").asText());
        JsonNode choice = body.get("choices").get(0);
        int[] prompt = server.completionTokens("Once upon a time");
        String text = choice.get("text").asText();
        assertEquals(server.reference(prompt, 30), text);
        assertTrue(text.startsWith(", there was a little girl named Lily."), text); // llama.cpp's greedy continuation
        assertEquals("length", choice.get("finish_reason").asText());
        assertEquals(prompt.length, body.get("usage").get("prompt_tokens").asInt());
        assertEquals(30, body.get("usage").get("completion_tokens").asInt());
        assertEquals(prompt.length + 30, body.get("usage").get("total_tokens").asInt());
    }

    @Test
    void completionsDefaultToSixteenTokens() throws Exception {
        JsonNode body = json(server.post("/v1/completions", "{\"prompt\": \"The dog\", \"temperature\": 0}"));
        assertEquals(16, body.get("usage").get("completion_tokens").asInt());
    }

    @Test
    void streamedChatEqualsTheWholeAnswer() throws Exception {
        String whole = json(server.post("/v1/chat/completions", chatBody("Where is the ball?", 20, "")))
                .get("choices").get(0).get("message").get("content").asText();
        HttpResponse<String> r = server.post("/v1/chat/completions",
                chatBody("Where is the ball?", 20, ", \"stream\": true, \"stream_options\": {\"include_usage\": true}"));
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        List<String> events = events(r.body());
        assertEquals("[DONE]", events.getLast());
        List<JsonNode> chunks = events.subList(0, events.size() - 1).stream().map(ServerApiTest::parse).toList();

        String id = chunks.getFirst().get("id").asText();
        assertTrue(id.startsWith("chatcmpl-"));
        StringBuilder text = new StringBuilder();
        for (JsonNode c : chunks) {
            assertEquals("chat.completion.chunk", c.get("object").asText());
            assertEquals(id, c.get("id").asText(), "every chunk has the response's id");
        }
        JsonNode first = chunks.getFirst().get("choices").get(0);
        assertEquals("assistant", first.get("delta").get("role").asText());
        for (JsonNode c : chunks.subList(0, chunks.size() - 2)) {
            JsonNode choice = c.get("choices").get(0);
            assertTrue(choice.get("finish_reason").isNull());
            assertTrue(c.get("usage").isNull(), "include_usage: usage is null until the last chunk");
            if (choice.get("delta").has("content")) text.append(choice.get("delta").get("content").asText());
        }
        JsonNode last = chunks.get(chunks.size() - 2).get("choices").get(0);
        assertFalse(last.get("finish_reason").isNull());
        assertEquals(whole, text.toString());

        JsonNode usageChunk = chunks.getLast();
        assertEquals(0, usageChunk.get("choices").size());
        JsonNode usage = usageChunk.get("usage");
        int[] prompt = server.chatTokens(List.of(ChatMessage.user("Where is the ball?")));
        assertEquals(prompt.length, usage.get("prompt_tokens").asInt());
        assertEquals(prompt.length + usage.get("completion_tokens").asInt(), usage.get("total_tokens").asInt());
    }

    @Test
    void streamedCompletion() throws Exception {
        HttpResponse<String> r = server.post("/v1/completions", "{\"prompt\": \"Once upon a time\", \"max_tokens\": 12, \"temperature\": 0, \"stream\": true}");
        List<String> events = events(r.body());
        assertEquals("[DONE]", events.getLast());
        StringBuilder text = new StringBuilder();
        JsonNode last = null;
        for (String e : events.subList(0, events.size() - 1)) {
            last = parse(e);
            assertEquals("text_completion", last.get("object").asText());
            assertFalse(last.has("usage"), "no usage field without include_usage");
            text.append(last.get("choices").get(0).get("text").asText());
        }
        assertEquals("length", last.get("choices").get(0).get("finish_reason").asText());
        assertEquals(server.reference(server.completionTokens("Once upon a time"), 12), text.toString());
    }

    @Test
    void stopStringsEndTheTextWithFinishReasonStop() throws Exception {
        JsonNode body = json(server.post("/v1/completions", "{\"prompt\": \"Once upon a time\", \"max_tokens\": 40, \"temperature\": 0, \"stop\": [\"Lily\", \"zzz\"]}"));
        assertEquals(", there was a little girl named ", body.get("choices").get(0).get("text").asText());
        assertEquals("stop", body.get("choices").get(0).get("finish_reason").asText());
    }

    @Test
    void perRequestKvPolicy() throws Exception {
        String prompt = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big";
        HttpResponse<String> r = server.post("/v1/completions", "{\"prompt\": \"" + prompt
                + "\", \"max_tokens\": 24, \"temperature\": 0, \"kv_policy\": \"clusterkv\", \"kv_budget\": 24}");
        assertEquals(200, r.statusCode(), r.body());
        int[] ids = server.completionTokens(prompt);
        assertTrue(ids.length > 24, "the prompt must exceed the budget for the policy to select");
        var clusterkv = server.config.session().withPolicy("clusterkv", PolicyConfig.DEFAULT.withBudget(24));
        String expected = server.reference(ids, GenerationOptions.greedy(24), clusterkv);
        assertEquals(expected, json(r).get("choices").get(0).get("text").asText());
    }

    @Test
    void penaltiesAndSeededSamplingAreAccepted() throws Exception {
        String body = "{\"prompt\": \"Once upon a time\", \"max_tokens\": 16, \"temperature\": 0.9, \"top_p\": 0.9, \"top_k\": 20, \"min_p\": 0.01,"
                + " \"presence_penalty\": 0.5, \"frequency_penalty\": 1.0, \"seed\": 42}";
        String a = json(server.post("/v1/completions", body)).get("choices").get(0).get("text").asText();
        String b = json(server.post("/v1/completions", body)).get("choices").get(0).get("text").asText();
        assertEquals(a, b, "the same seed draws the same tokens");
        var sampling = new SamplingParams(0.9f, 20, 0.9f, 0.01f, 1f, 64, 42, 0.5f, 1.0f);
        assertEquals(server.reference(server.completionTokens("Once upon a time"), new GenerationOptions(16, sampling, List.of()),
                server.config.session()), a);
    }

    @Test
    void models() throws Exception {
        HttpResponse<String> r = server.get("/v1/models");
        assertEquals(200, r.statusCode());
        JsonNode body = json(r);
        assertEquals("list", body.get("object").asText());
        assertEquals("stories260K", body.get("data").get(0).get("id").asText());
        assertEquals("model", body.get("data").get(0).get("object").asText());
    }

    @Test
    void health() throws Exception {
        HttpResponse<String> r = server.get("/health");
        assertEquals(200, r.statusCode());
        assertEquals("ok", json(r).get("status").asText());
    }

    @Test
    void metricsCountRequestsAndTokens() throws Exception {
        server.post("/v1/completions", "{\"prompt\": \"A bird\", \"max_tokens\": 5, \"temperature\": 0}");
        server.get("/nope");
        String m = server.get("/metrics").body();
        assertTrue(m.contains("# TYPE clusterkv_requests_total counter"), m);
        assertTrue(m.matches("(?s).*clusterkv_requests_total\\{endpoint=\"/v1/completions\",status=\"200\"} [1-9].*"), m);
        assertTrue(m.contains("clusterkv_requests_total{endpoint=\"other\",status=\"404\"}"), m);
        for (String name : List.of("clusterkv_prompt_tokens_total", "clusterkv_generated_tokens_total", "clusterkv_prefill_tokens_per_second",
                "clusterkv_decode_tokens_per_second", "clusterkv_kv_bytes_resident{state=\"active\"}", "clusterkv_active_sessions",
                "clusterkv_queue_length", "clusterkv_time_to_first_token_seconds_count")) {
            assertTrue(m.contains("\n" + name + " "), name + " in\n" + m);
        }
        assertTrue(server.metric("clusterkv_generated_tokens_total") >= 5);
        assertTrue(server.metric("clusterkv_decode_tokens_per_second") > 0);
        server.awaitMetric("clusterkv_active_sessions", 0); // the gauges are published after the round that answered
    }

    static JsonNode parse(String s) {
        try {
            return TestServer.JSON.readTree(s);
        } catch (Exception e) {
            throw new AssertionError(s, e);
        }
    }
}
