package clusterkv.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.List;

import static clusterkv.server.TestServer.events;
import static clusterkv.server.TestServer.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * response_format on the chat and text endpoints, streamed and not: the content parses and validates (networknt's
 * validator is the judge), json_object gives an object, and a schema outside the supported subset is a 400 naming
 * the keyword.
 */
class ServerStructuredOutputTest {

    private static final String SCHEMA = """
            {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20}, "legs": {"type": "integer"},
             "colour": {"enum": ["red", "brown", "grey"]}}, "required": ["name", "legs", "colour"], "additionalProperties": false}""";

    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = new TestServer(256, c -> c);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String chat(String responseFormat, boolean stream, long seed) {
        return "{\"messages\": [{\"role\": \"user\", \"content\": \"Describe the cat as JSON.\"}], \"max_tokens\": 60, \"temperature\": 1, \"seed\": " + seed
                + ", \"stream\": " + stream + ", \"response_format\": " + responseFormat + "}";
    }

    static JsonNode parseJson(String text) {
        try {
            return TestServer.JSON.readTree(text);
        } catch (Exception e) {
            throw new AssertionError(text, e);
        }
    }

    private static void assertValid(String content) throws Exception {
        JsonNode value = TestServer.JSON.readTree(content);
        var errors = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(TestServer.JSON.readTree(SCHEMA)).validate(value);
        assertTrue(errors.isEmpty(), content + ": " + errors);
    }

    @Test
    void jsonSchemaChatCompletionsValidate() throws Exception {
        String format = "{\"type\": \"json_schema\", \"json_schema\": {\"name\": \"cat\", \"strict\": true, \"schema\": " + SCHEMA + "}}";
        for (long seed = 0; seed < 5; seed++) {
            HttpResponse<String> r = server.post("/v1/chat/completions", chat(format, false, seed));
            assertEquals(200, r.statusCode(), r.body());
            JsonNode choice = json(r).get("choices").get(0);
            assertValid(choice.get("message").get("content").asText());
            assertEquals("stop", choice.get("finish_reason").asText());
        }
    }

    @Test
    void streamedDeltasJoinIntoAValidValue() throws Exception {
        String format = "{\"type\": \"json_schema\", \"json_schema\": {\"name\": \"cat\", \"schema\": " + SCHEMA + "}}";
        HttpResponse<String> r = server.post("/v1/chat/completions", chat(format, true, 3));
        assertEquals(200, r.statusCode(), r.body());
        StringBuilder content = new StringBuilder();
        List<String> data = events(r.body());
        for (String d : data) {
            if (d.equals("[DONE]")) continue;
            JsonNode delta = TestServer.JSON.readTree(d).get("choices").get(0).get("delta");
            if (delta != null && delta.hasNonNull("content")) content.append(delta.get("content").asText());
        }
        assertValid(content.toString());
    }

    @Test
    void jsonObjectAndTextCompletions() throws Exception {
        HttpResponse<String> r = server.post("/v1/chat/completions", chat("{\"type\": \"json_object\"}", false, 1));
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(TestServer.JSON.readTree(json(r).get("choices").get(0).get("message").get("content").asText()).isObject());
        r = server.post("/v1/completions", "{\"prompt\": \"A cat:\", \"max_tokens\": 60, \"json_schema\": " + SCHEMA + "}");
        assertEquals(200, r.statusCode(), r.body());
        assertValid(json(r).get("choices").get(0).get("text").asText());
    }

    @Test
    void unsupportedSchemasAndFormatsAre400s() throws Exception {
        String multipleOf = "{\"type\": \"json_schema\", \"json_schema\": {\"name\": \"x\", \"schema\": {\"type\": \"integer\", \"multipleOf\": 3}}}";
        HttpResponse<String> r = server.post("/v1/chat/completions", chat(multipleOf, false, 0));
        assertEquals(400, r.statusCode(), r.body());
        JsonNode error = json(r).get("error");
        assertEquals("response_format", error.get("param").asText());
        assertTrue(error.get("message").asText().contains("'multipleOf'"), r.body());
        String unanchored = "{\"type\": \"json_schema\", \"json_schema\": {\"name\": \"x\", \"schema\": {\"type\": \"string\", \"pattern\": \"a+\"}}}";
        r = server.post("/v1/chat/completions", chat(unanchored, false, 0));
        assertEquals(400, r.statusCode(), r.body());
        assertTrue(json(r).get("error").get("message").asText().contains("must start with ^"), r.body());
        r = server.post("/v1/chat/completions", chat("{\"type\": \"yaml\"}", false, 0));
        assertEquals(400, r.statusCode(), r.body());
        r = server.post("/v1/chat/completions", chat("{\"type\": \"json_schema\"}", false, 0));
        assertEquals(400, r.statusCode(), r.body());
        r = server.post("/v1/completions", "{\"prompt\": \"A\", \"json_schema\": {\"minimum\": 1, \"type\": \"number\"}}");
        assertEquals(400, r.statusCode(), r.body());
        assertEquals("json_schema", json(r).get("error").get("param").asText());
    }
}
