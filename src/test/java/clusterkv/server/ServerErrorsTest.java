package clusterkv.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import static clusterkv.server.TestServer.json;
import static org.junit.jupiter.api.Assertions.*;

/** Bad requests get OpenAI-style error bodies naming the field at fault, and never hurt the server. */
class ServerErrorsTest {

    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = new TestServer(64, c -> c.withKvTypes(java.util.Set.of(clusterkv.kv.KVType.Q8_0, clusterkv.kv.KVType.F32)));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** Asserts the status and the error body; returns the error object. */
    private static JsonNode assertError(HttpResponse<String> r, int status, String param, String messagePart) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
        JsonNode error = json(r).get("error");
        assertNotNull(error, r.body());
        for (String field : new String[]{"message", "type", "param", "code"}) assertTrue(error.has(field), field + " in " + r.body());
        if (param == null) assertTrue(error.get("param").isNull(), r.body());
        else assertEquals(param, error.get("param").asText(), r.body());
        assertTrue(error.get("message").asText().contains(messagePart), r.body());
        return error;
    }

    private static HttpResponse<String> completion(String body) throws Exception {
        return server.post("/v1/completions", body);
    }

    private static HttpResponse<String> chat(String body) throws Exception {
        return server.post("/v1/chat/completions", body);
    }

    @Test
    void malformedJson() throws Exception {
        assertEquals("invalid_request_error", assertError(completion("{\"prompt\": \"x\""), 400, null, "malformed JSON").get("type").asText());
        assertError(completion(""), 400, null, "JSON object");
        assertError(completion("[1, 2]"), 400, null, "JSON object");
    }

    @Test
    void trailingGarbageAfterTheJsonObject() throws Exception {
        assertError(completion("{\"prompt\": \"x\"} garbage"), 400, null, "malformed JSON");
        assertError(completion("{\"prompt\": \"x\"}{\"prompt\": \"y\"}"), 400, null, "malformed JSON");
        assertError(chat("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}]"), 400, null, "malformed JSON");
        assertEquals(200, completion("{\"prompt\": \"Once\", \"max_tokens\": 1}\n ").statusCode(), "trailing whitespace is fine");
    }

    @Test
    void wrongTypes() throws Exception {
        assertError(completion("{\"prompt\": \"x\", \"max_tokens\": \"ten\"}"), 400, "max_tokens", "max_tokens must be an integer");
        assertError(completion("{\"prompt\": \"x\", \"max_tokens\": 2.5}"), 400, "max_tokens", "integer");
        assertError(completion("{\"prompt\": \"x\", \"temperature\": \"hot\"}"), 400, "temperature", "temperature must be a number");
        assertError(completion("{\"prompt\": 42}"), 400, "prompt", "prompt must be a string");
        assertError(completion("{\"model\": 7, \"prompt\": \"x\"}"), 400, "model", "model must be a string");
        assertError(completion("{\"prompt\": \"x\", \"stream\": \"yes\"}"), 400, "stream", "boolean");
        assertError(completion("{\"prompt\": \"x\", \"stop\": 3}"), 400, "stop", "stop must be");
        assertError(completion("{\"prompt\": \"x\", \"seed\": \"s\"}"), 400, "seed", "seed");
        assertError(chat("{\"messages\": \"hello\"}"), 400, "messages", "messages must be a non-empty array");
        assertError(chat("{\"messages\": [{\"content\": \"hi\"}]}"), 400, "messages[0].role", "role");
        assertError(chat("{\"messages\": [{\"role\": \"user\", \"content\": 5}]}"), 400, "messages[0].content", "content");
        assertError(chat("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"stream\": true, \"stream_options\": {\"include_usage\": 1}}"),
                400, "stream_options.include_usage", "boolean");
    }

    @Test
    void missingPrompt() throws Exception {
        assertError(completion("{}"), 400, "prompt", "prompt is required");
        assertError(chat("{\"prompt\": \"x\"}"), 400, "messages", "messages is required");
    }

    @Test
    void outOfRangeValues() throws Exception {
        assertError(completion("{\"prompt\": \"x\", \"max_tokens\": -1}"), 400, "max_tokens", "max_tokens must be >= 0");
        assertError(completion("{\"prompt\": \"x\", \"temperature\": 3}"), 400, "temperature", "temperature");
        assertError(completion("{\"prompt\": \"x\", \"top_p\": 1.5}"), 400, "top_p", "top_p");
        assertError(completion("{\"prompt\": \"x\", \"presence_penalty\": -2.5}"), 400, "presence_penalty", "presence_penalty");
        assertError(completion("{\"prompt\": \"x\", \"n\": 2}"), 400, "n", "n must be");
    }

    @Test
    void unknownOrInvalidKvPolicy() throws Exception {
        JsonNode e = assertError(completion("{\"prompt\": \"x\", \"kv_policy\": \"magic\"}"), 400, "kv_policy", "unknown kv_policy 'magic'");
        assertTrue(e.get("message").asText().contains("clusterkv"), "lists the known policies");
        assertError(completion("{\"prompt\": \"x\", \"kv_policy\": \"clusterkv\", \"kv_budget\": 8}"), 400, "kv_budget", "must exceed the sink");
        assertError(completion("{\"prompt\": \"x\", \"kv_budget\": 0}"), 400, "kv_budget", "kv_budget");
    }

    @Test
    void kvTypesTheServerDoesNotAllowOrTheModelCannotHold() throws Exception {
        assertError(completion("{\"prompt\": \"x\", \"kv_type\": \"q9\"}"), 400, "kv_type", "unknown KV type 'q9'");
        assertError(completion("{\"prompt\": \"x\", \"kv_type\": \"q4_0\"}"), 400, "kv_type",
                "kv_type q4_0 is not allowed on this server (allowed: f32, f16, q8_0;");
        // stories260K's heads are 8 values: no whole Q8_0 block
        assertError(completion("{\"prompt\": \"x\", \"kv_type\": \"q8_0\"}"), 400, "kv_type", "head size is 8");
        assertEquals(200, completion("{\"prompt\": \"x\", \"max_tokens\": 2, \"kv_type\": \"f32\"}").statusCode());
    }

    @Test
    void promptLongerThanTheContext() throws Exception {
        String longPrompt = "the cat sat on the mat and ".repeat(20);
        JsonNode e = assertError(completion("{\"prompt\": \"" + longPrompt + "\"}"), 400, "prompt", "context of 64 tokens");
        assertEquals("context_length_exceeded", e.get("code").asText());
        assertError(chat("{\"messages\": [{\"role\": \"user\", \"content\": \"" + longPrompt + "\"}]}"), 400, "messages", "context");
    }

    @Test
    void generationStopsWithLengthAtTheEndOfTheContext() throws Exception {
        HttpResponse<String> r = completion("{\"prompt\": \"Once upon a time\", \"max_tokens\": 1000, \"temperature\": 0}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode body = json(r);
        assertEquals("length", body.get("choices").get(0).get("finish_reason").asText());
        assertEquals(64, body.get("usage").get("total_tokens").asInt(), "prompt and generated tokens fill the context");
    }

    @Test
    void unknownPathAndWrongMethod() throws Exception {
        assertError(server.get("/v1/nothing"), 404, null, "/v1/nothing");
        HttpResponse<String> r = server.get("/v1/chat/completions");
        assertError(r, 405, null, "GET");
        assertEquals("POST", r.headers().firstValue("Allow").orElse(""));
        assertError(server.post("/health", "{}"), 405, null, "POST");
    }

    @Test
    void theServerSurvivesAllOfIt() throws Exception {
        malformedJson();
        wrongTypes();
        HttpResponse<String> r = completion("{\"prompt\": \"Once\", \"max_tokens\": 3}");
        assertEquals(200, r.statusCode(), r.body());
        server.awaitMetric("clusterkv_active_sessions", 0); // the gauges are published after the round that answered
    }

    @Test
    void apiKeyIsRequiredOnEveryRequest() throws Exception {
        try (TestServer secured = new TestServer(64, c -> c.withApiKey("s3cret"))) {
            for (String path : new String[]{"/v1/models", "/health", "/metrics", "/nowhere"}) {
                HttpResponse<String> r = secured.http.send(HttpRequest.newBuilder(secured.base.resolve(path)).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals("invalid_api_key", assertError(r, 401, null, "API key").get("code").asText());
            }
            HttpResponse<String> wrong = secured.send(HttpRequest.newBuilder(secured.base.resolve("/v1/completions"))
                    .header("Authorization", "Bearer s3cre").POST(HttpRequest.BodyPublishers.ofString("{\"prompt\": \"x\"}")));
            assertError(wrong, 401, null, "API key");
            assertEquals(200, secured.get("/v1/models").statusCode()); // the fixture sends the right key
            assertEquals(200, secured.post("/v1/completions", "{\"prompt\": \"Once\", \"max_tokens\": 2}").statusCode());
        }
    }
}
