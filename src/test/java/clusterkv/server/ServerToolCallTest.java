package clusterkv.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;

import static clusterkv.server.TestServer.events;
import static clusterkv.server.TestServer.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tool calls on stories260K served with the real chat templates of Qwen 2.5 (Hermes tags), Llama 3.1 (JSON) and
 * Mistral v0.3 ([TOOL_CALLS]): a required or named call comes back as tool_calls whose arguments validate against
 * the tool's schema (networknt is the judge), streamed as a tool_calls delta; the conversation that follows, with
 * the call and its result, renders; a template without a tool-call format is a 400.
 */
class ServerToolCallTest {

    private static final String WEATHER = """
            {"type": "object", "properties": {"city": {"type": "string", "maxLength": 12}, "days": {"type": "integer"}}, "required": ["city", "days"]}""";
    private static final String TOOLS = "[{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Weather\", \"parameters\": " + WEATHER + "}},"
            + " {\"type\": \"function\", \"function\": {\"name\": \"get_time\", \"parameters\": {\"type\": \"object\", \"properties\": {\"zone\": {\"enum\": [\"utc\", \"cet\"]}}, \"required\": [\"zone\"]}}}]";

    private static TestServer serverWith(String template) throws Exception {
        String text = Files.readString(Path.of("src/test/resources/chat", template));
        return new TestServer(2048, c -> c.withChatTemplate(text));
    }

    private static String request(String choice, boolean stream, long seed) {
        return "{\"messages\": [{\"role\": \"user\", \"content\": \"What is the weather in Paris?\"}], \"max_tokens\": 80, \"temperature\": 1, \"seed\": " + seed
                + ", \"stream\": " + stream + ", \"tools\": " + TOOLS + ", \"tool_choice\": " + choice + "}";
    }

    private static void assertValidCall(JsonNode call, String name) throws Exception {
        assertEquals("function", call.get("type").asText());
        assertTrue(call.get("id").asText().matches("[A-Za-z0-9]{9}"), call.toString());
        assertEquals(name, call.get("function").get("name").asText());
        JsonNode arguments = TestServer.JSON.readTree(call.get("function").get("arguments").asText());
        if (name.equals("get_weather")) {
            var errors = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(TestServer.JSON.readTree(WEATHER)).validate(arguments);
            assertTrue(errors.isEmpty(), arguments + ": " + errors);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen2.5.jinja", "llama3.1.jinja", "mistral-v0.3.jinja"})
    void forcedCallsComeBackAsToolCalls(String template) throws Exception {
        try (TestServer server = serverWith(template)) {
            for (long seed = 0; seed < 3; seed++) {
                HttpResponse<String> r = server.post("/v1/chat/completions", request("{\"type\": \"function\", \"function\": {\"name\": \"get_weather\"}}", false, seed));
                assertEquals(200, r.statusCode(), r.body());
                JsonNode choice = json(r).get("choices").get(0);
                assertEquals("tool_calls", choice.get("finish_reason").asText(), r.body());
                assertTrue(choice.get("message").get("content").isNull(), r.body());
                assertValidCall(choice.get("message").get("tool_calls").get(0), "get_weather");
            }
            HttpResponse<String> r = server.post("/v1/chat/completions", request("\"required\"", false, 5));
            assertEquals(200, r.statusCode(), r.body());
            JsonNode call = json(r).get("choices").get(0).get("message").get("tool_calls").get(0);
            assertValidCall(call, call.get("function").get("name").asText());

            // the call and its result go back into the conversation, as a client sends them next
            String next = "{\"messages\": [{\"role\": \"user\", \"content\": \"Weather in Paris?\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": ["
                    + call + "]}, {\"role\": \"tool\", \"tool_call_id\": \"" + call.get("id").asText() + "\", \"content\": \"sunny\"}], \"max_tokens\": 8, \"tools\": " + TOOLS + "}";
            HttpResponse<String> answer = server.post("/v1/chat/completions", next);
            assertEquals(200, answer.statusCode(), answer.body());
        }
    }

    @Test
    void aStreamedCallArrivesAsAToolCallsDelta() throws Exception {
        try (TestServer server = serverWith("qwen2.5.jinja")) {
            HttpResponse<String> r = server.post("/v1/chat/completions", request("\"required\"", true, 2));
            assertEquals(200, r.statusCode(), r.body());
            JsonNode call = null;
            String finish = null;
            StringBuilder content = new StringBuilder();
            for (String d : events(r.body())) {
                if (d.equals("[DONE]")) continue;
                JsonNode choice = TestServer.JSON.readTree(d).get("choices").get(0);
                JsonNode delta = choice.get("delta");
                if (delta.has("tool_calls")) call = delta.get("tool_calls").get(0);
                if (delta.hasNonNull("content")) content.append(delta.get("content").asText());
                if (choice.hasNonNull("finish_reason")) finish = choice.get("finish_reason").asText();
            }
            assertEquals("tool_calls", finish);
            assertEquals("", content.toString(), "a call is never sent as content");
            assertEquals(0, call.get("index").asInt());
            assertValidCall(call, call.get("function").get("name").asText());
        }
    }

    @Test
    void toolsNeedATemplateWithAToolCallFormat() throws Exception {
        try (TestServer server = new TestServer(256, c -> c)) {
            HttpResponse<String> r = server.post("/v1/chat/completions", request("\"auto\"", false, 0));
            assertEquals(400, r.statusCode(), r.body());
            assertEquals("tools", json(r).get("error").get("param").asText());
            r = server.post("/v1/chat/completions", request("\"none\"", false, 0));
            assertEquals(200, r.statusCode(), r.body());
        }
        try (TestServer server = serverWith("qwen2.5.jinja")) {
            HttpResponse<String> r = server.post("/v1/chat/completions", request("{\"type\": \"function\", \"function\": {\"name\": \"nope\"}}", false, 0));
            assertEquals(400, r.statusCode(), r.body());
            assertEquals("tool_choice", json(r).get("error").get("param").asText());
        }
    }
}
