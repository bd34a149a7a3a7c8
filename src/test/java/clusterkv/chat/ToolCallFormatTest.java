package clusterkv.chat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tool-call formats against the real chat templates: each template is recognised, renders the offered tools and
 * a past call, and the call it renders is exactly the text a forced call is made of (prefix, {"name": ..., KEY: ...},
 * suffix) and parses back into the same call.
 */
class ToolCallFormatTest {

    private static final Map<String, Object> WEATHER = Map.of("type", "function", "function", Map.of("name", "get_weather",
            "description", "Weather in a city", "parameters", Map.of("type", "object", "properties", Map.of("city", Map.of("type", "string")))));

    @ParameterizedTest
    @CsvSource({"qwen2.5.jinja, HERMES", "qwen3.jinja, HERMES", "llama3.1.jinja, LLAMA3", "llama3.2.jinja, LLAMA3", "mistral-v0.3.jinja, MISTRAL"})
    void templatesRenderToolsAndCallsInTheFormatTheParserReads(String file, ToolCallFormat expected) throws Exception {
        String text = Files.readString(Path.of("src/test/resources/chat", file));
        ToolCallFormat format = ToolCallFormat.of(text);
        assertEquals(expected, format);
        Map<String, Object> function = new java.util.LinkedHashMap<>(); // name first, as requests are read
        function.put("name", "get_weather");
        function.put("arguments", Map.of("city", "Paris"));
        Map<String, Object> call = Map.of("id", "abcdefghi", "type", "function", "function", function);
        List<ChatMessage> messages = List.of(ChatMessage.user("Weather in Paris?"),
                new ChatMessage("assistant", "", Map.of("tool_calls", List.of(call))),
                new ChatMessage("tool", "sunny", Map.of("tool_call_id", "abcdefghi", "name", "get_weather")));
        String rendered = ChatTemplate.of(text, "<s>", "</s>").withVariables(Map.of("tools", List.of(WEATHER))).renderStrict(messages, true);
        assertTrue(rendered.contains("Weather in a city"), "the tools are rendered:\n" + rendered);
        String forced = format.prefix + "{\"name\": \"get_weather\", \"" + format.argumentsKey + "\": {\"city\": \"Paris\"}" + "}" + format.suffix;
        String past = format == ToolCallFormat.MISTRAL ? forced.replace("}}]", "}, \"id\": \"abcdefghi\"}]") : forced;
        assertTrue(rendered.contains(past), "the past call is rendered as a forced call is written: " + past + " in\n" + rendered);
        ToolCallFormat.Reply reply = format.parse(forced);
        assertEquals(List.of(new ToolCallFormat.ToolCall("get_weather", "{\"city\":\"Paris\"}")), reply.calls());
        assertEquals("", reply.content());
    }

    @Test
    void repliesWithoutCallsAreContent() {
        for (ToolCallFormat f : ToolCallFormat.values()) {
            ToolCallFormat.Reply r = f.parse("It is sunny in Paris.");
            assertEquals("It is sunny in Paris.", r.content());
            assertTrue(r.calls().isEmpty());
        }
        assertTrue(ToolCallFormat.LLAMA3.parse("{\"no\": \"name\"}").calls().isEmpty());
        assertTrue(ToolCallFormat.HERMES.parse("<tool_call>\n{broken\n</tool_call>").calls().isEmpty());
        assertNull(ToolCallFormat.of("{{ messages }}"));
    }

    @Test
    void hermesKeepsTheTextAroundCallsAndReadsSeveral() {
        ToolCallFormat.Reply r = ToolCallFormat.HERMES.parse("Let me look.\n<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": 1}}\n</tool_call>\n"
                + "<tool_call>{\"name\": \"b\", \"arguments\": \"{}\"}</tool_call>");
        assertEquals("Let me look.", r.content());
        assertEquals(List.of(new ToolCallFormat.ToolCall("a", "{\"x\":1}"), new ToolCallFormat.ToolCall("b", "{}")), r.calls());
        r = ToolCallFormat.MISTRAL.parse("[TOOL_CALLS] [{\"name\": \"a\", \"arguments\": {}}, {\"name\": \"b\", \"arguments\": {\"y\": [1]}}]");
        assertEquals(2, r.calls().size());
        assertEquals("{\"y\":[1]}", r.calls().get(1).arguments());
        assertEquals("x", ToolCallFormat.LLAMA3.parse("<|python_tag|>{\"name\": \"x\", \"parameters\": {}}").calls().get(0).name());
    }
}
