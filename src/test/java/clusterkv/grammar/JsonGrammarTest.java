package clusterkv.grammar;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The matcher against hand-written JSON texts that a schema accepts or rejects, the compiler's refusals, and each
 * state's fewest bytes to completion against a breadth-first search for the shortest completion.
 */
class JsonGrammarTest {

    private static void accepts(String schema, String... texts) {
        JsonGrammar g = JsonGrammar.fromSchema(schema);
        for (String t : texts) assertTrue(g.matches(t), t + " matches " + schema);
    }

    private static void rejects(String schema, String... texts) {
        JsonGrammar g = JsonGrammar.fromSchema(schema);
        for (String t : texts) assertFalse(g.matches(t), t + " does not match " + schema);
    }

    @Test
    void objectsWithRequiredAndOptionalProperties() {
        String s = Schemas.TEN.get(4); // a: number, b: string <= 5, c: null (required)
        accepts(s, "{\"c\":null}", "{\"a\":1.5e3,\"c\":null}", "{\"a\": -0.25, \"b\": \"héllo\", \"c\": null}",
                "{\n  \"b\": \"\",\n  \"c\": null\n}", "{\"a\":0,\"b\":\"\\u00e9\\n\",\"c\":null}");
        rejects(s, "{}", "{\"a\":1}", "{\"c\":null,\"a\":1}", "{\"c\":null,}", "{\"b\":\"toolong\",\"c\":null}",
                "{\"a\":01,\"c\":null}", "{\"a\":1.,\"c\":null}", "{\"c\":nul}", "{\"d\":1,\"c\":null}", "{\"c\":null} ",
                "{\"b\":\"a\nb\",\"c\":null}", "{\"b\":\"\\x\",\"c\":null}");
    }

    @Test
    void scalarsEnumsAndArrays() {
        accepts(Schemas.TEN.get(1), "\"red\"", "\"green\"", "\"greenish\"");
        rejects(Schemas.TEN.get(1), "\"gree\"", "\"greenishh\"", "red", "\"Red\"");
        accepts(Schemas.TEN.get(2), "[1]", "[1,2,3,4,5]", "[ -7 , 0 ]", "[999]", "[-49]", "[-0]");
        rejects(Schemas.TEN.get(2), "[]", "[1,2,3,4,5,6]", "[1.5]", "[1,]", "[\"1\"]", "[1e3]", "[1000]", "[-50]", "[01]", "[12345678901]");
        accepts("{\"type\": \"integer\", \"minimum\": 1, \"maximum\": 5}", "1", "5");
        rejects("{\"type\": \"integer\", \"minimum\": 1, \"maximum\": 5}", "0", "6", "-1", "10");
        accepts("{\"type\": \"integer\", \"minimum\": -1200, \"maximum\": -1100}", "-1100", "-1150");
        rejects("{\"type\": \"integer\", \"minimum\": -1200, \"maximum\": -1100}", "-11", "-1201", "1150");
        accepts(Schemas.TEN.get(8), "\"abc\"", "\"ab\\\"c\"", "\"日本語\"", "\"abcdef\"");
        rejects(Schemas.TEN.get(8), "\"ab\"", "\"abcdefg\"", "\"日本\"");
        accepts("{\"type\": [\"integer\", \"null\"]}", "null", "42", "-3");
        rejects("{\"type\": [\"integer\", \"null\"]}", "4.2", "\"4\"", "nil");
    }

    @Test
    void patterns() {
        String date = "{\"type\": \"string\", \"pattern\": \"^\\\\d{4}-(0[1-9]|1[0-2])-\\\\d{2}$\"}";
        accepts(date, "\"2026-12-07\"", "\"1999-01-31\"");
        rejects(date, "\"2026-13-07\"", "\"2026-1-07\"", "\"26-12-07\"", "\"2026-12-07x\"", "\"\"");
        String code = "{\"pattern\": \"^(?:[A-Z]{2,3}|x+)-[^-\\\\s]*\\\\.?$\"}";
        accepts(code, "\"AB-\"", "\"XYZ-q1.\"", "\"xxx-abc\"");
        rejects(code, "\"A-b\"", "\"ABCD-b\"", "\"AB-a b\"", "\"AB-a-b\"", "\"-x\"");
        accepts(Schemas.TEN.get(3), "{\"person\":{\"first\":\"Anna\",\"last\":\"B\"},\"ok\":true}", "{\"person\":{\"first\":\"Jo K.\"},\"ok\":false}");
        rejects(Schemas.TEN.get(3), "{\"person\":{\"first\":\"anna\"},\"ok\":true}", "{\"person\":{\"first\":\"Annabelle\"},\"ok\":true}");
    }

    @Test
    void referencesAlternativesAndFreeObjects() {
        accepts(Schemas.TEN.get(6), "{\"v\":1}", "{\"v\":1,\"kids\":[{\"v\":2},{\"v\":3,\"kids\":[]}]}");
        rejects(Schemas.TEN.get(6), "{\"v\":1,\"kids\":[{\"v\":2},{\"v\":3},{\"v\":4}]}", "{\"kids\":[]}");
        accepts(Schemas.TEN.get(5), "{\"note\":null,\"tags\":[]}", "{\"note\":\"hi\",\"tags\":[\"x\",3,true]}");
        rejects(Schemas.TEN.get(5), "{\"note\":1,\"tags\":[]}", "{\"note\":null,\"tags\":[\"z\"]}");
        accepts(Schemas.TEN.get(9), "{}", "{\"a\":[1,{\"b\":null}],\"c\":\"d\",\"e\":false}");
        rejects(Schemas.TEN.get(9), "[]", "{\"a\"}", "{a:1}", "{\"a\":tru}");
        assertTrue(JsonGrammar.anyObject().matches("{\"x\": {\"y\": [1, 2.5e-3, \"z\"]}}"));
        assertFalse(JsonGrammar.anyObject().matches("\"x\""));
        accepts("{\"type\": \"object\", \"additionalProperties\": {\"type\": \"integer\"}}", "{\"a\":1,\"b\":2}");
        rejects("{\"type\": \"object\", \"additionalProperties\": {\"type\": \"integer\"}}", "{\"a\":\"1\"}");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{\"type\": \"string\", \"pattern\": \"a+\"}                     | must start with ^ and end with $",
            "{\"type\": \"string\", \"pattern\": \"^(?=a)b$\"}                | unsupported group",
            "{\"type\": \"string\", \"pattern\": \"^a{2,1}$\"}                | unsupported quantifier",
            "{\"type\": \"string\", \"pattern\": \"^\\\\p{L}$\"}            | unsupported escape",
            "{\"type\": \"string\", \"pattern\": \"^[\\\"]$\"}              | matches no string",
            "{\"type\": \"number\", \"minimum\": 3}                          | 'minimum' on a number",
            "{\"type\": \"integer\", \"minimum\": 3, \"maximum\": 2}         | no integer",
            "{\"type\": \"object\", \"properties\": {\"a\": {\"not\": {}}}}    | 'not' at /properties/a",
            "{\"anyOf\": [{\"type\": \"object\"}, {\"type\": \"object\"}]}     | two alternatives may start with '{'",
            "{\"$ref\": \"https://example.com/s.json\"}                     | unsupported $ref",
            "{\"type\": \"object\", \"required\": [\"x\"], \"properties\": {\"y\": {}}} | names [x]",
            "{\"type\": \"strin\"}                                         | unknown type 'strin'",
            "{\"$defs\": {\"a\": {\"$ref\": \"#/$defs/a\"}}, \"$ref\": \"#/$defs/a\"} | refers to itself",
            "{\"anyOf\": [{\"$ref\": \"#\"}, {\"type\": \"null\"}]}                | refers to itself",
            "{\"$defs\": {\"a\": {\"anyOf\": [{\"type\": \"string\"}, {\"$ref\": \"#/$defs/b\"}]}, \"b\": {\"oneOf\": [{\"type\": \"null\"}, {\"$ref\": \"#/$defs/a\"}]}}, \"$ref\": \"#/$defs/a\"} | refers to itself",
            "{\"$defs\": {\"n\": {\"type\": \"object\", \"properties\": {\"n\": {\"$ref\": \"#/$defs/n\"}}, \"required\": [\"n\"]}}, \"$ref\": \"#/$defs/n\"} | no finite value",
    })
    void unsupportedOrImpossibleSchemasAreRefusedByName(String schema, String expected) {
        String message = assertThrows(JsonSchemaException.class, () -> JsonGrammar.fromSchema(schema)).getMessage();
        assertTrue(message.contains(expected), message);
    }

    @Test
    void schemasThatWouldStallTheMasksAreRefused() {
        StringBuilder properties = new StringBuilder("{\"type\": \"object\", \"properties\": {");
        for (int i = 0; i <= JsonSchemaCompiler.MAX_PROPERTIES; i++) properties.append(i == 0 ? "" : ", ").append("\"p").append(i).append("\": {}");
        String many = properties.append("}}").toString();
        assertTrue(assertThrows(JsonSchemaException.class, () -> JsonGrammar.fromSchema(many)).getMessage().contains("at most 1024"));
        StringBuilder values = new StringBuilder("{\"enum\": [");
        for (int i = 0; i <= JsonSchemaCompiler.MAX_LITERALS; i++) values.append(i == 0 ? "" : ", ").append(i);
        String big = values.append("]}").toString();
        assertTrue(assertThrows(JsonSchemaException.class, () -> JsonGrammar.fromSchema(big)).getMessage().contains("at most 4096"));
    }

    /**
     * The fewest bytes to completion that each state carries equals the length of the shortest completion a
     * breadth-first search over all 256 byte values finds, on states reached by random walks through each schema.
     */
    @Test
    void fewestBytesToCompletionIsTheShortestCompletion() {
        for (String schema : Schemas.TEN) walks(JsonGrammar.fromSchema(schema), schema);
        walks(weatherTools(), "tool calls");
    }

    static JsonGrammar weatherTools() {
        var functions = new java.util.LinkedHashMap<String, com.fasterxml.jackson.databind.JsonNode>();
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        try {
            functions.put("get_weather", json.readTree("{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\", \"maxLength\": 9}, \"days\": {\"type\": \"integer\"}}, \"required\": [\"city\"]}"));
            functions.put("get_time", json.readTree("{\"type\": \"object\", \"properties\": {\"zone\": {\"enum\": [\"utc\", \"local\"]}}, \"required\": [\"zone\"]}"));
            functions.put("get_weather_alerts", null);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        return JsonGrammar.toolCall("<tool_call>\n", "arguments", "\n</tool_call>", functions);
    }

    @Test
    void toolCallsWithTheirNamesAndArguments() {
        JsonGrammar g = weatherTools();
        assertTrue(g.matches("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 3}}\n</tool_call>"));
        assertTrue(g.matches("<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"utc\"}}\n</tool_call>"));
        assertTrue(g.matches("<tool_call>\n{\"name\": \"get_weather_alerts\", \"arguments\": {\"any\": [1]}}\n</tool_call>"));
        assertFalse(g.matches("<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"));
        assertFalse(g.matches("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}"));
        assertFalse(g.matches("<tool_call>\n{\"name\": \"get_news\", \"arguments\": {}}\n</tool_call>"));
    }

    private static void walks(JsonGrammar g, String schema) {
        Random random = new Random(7);
        {
            for (int walk = 0; walk < 4; walk++) {
                MatchState s = g.initial();
                for (int step = 0; step < 50 && s != MatchState.DONE; step++) {
                    assertEquals(shortestCompletion(s), s.minBytes, "after " + step + " bytes of walk " + walk + " in " + schema);
                    List<Integer> next = new java.util.ArrayList<>();
                    for (int b = 0; b < 256; b++) if (s.advance(b) != null) next.add(b);
                    if (next.isEmpty()) break;
                    s = s.advance(next.get(random.nextInt(next.size())));
                }
            }
        }
    }

    private static int shortestCompletion(MatchState from) {
        Map<MatchState, Integer> distance = new HashMap<>();
        ArrayDeque<MatchState> queue = new ArrayDeque<>();
        distance.put(from, 0);
        queue.add(from);
        while (!queue.isEmpty()) {
            MatchState s = queue.poll();
            int d = distance.get(s);
            if (s.complete()) return d;
            for (int b = 0; b < 256; b++) {
                MatchState n = s.advance(b);
                if (n != null && distance.putIfAbsent(n, d + 1) == null) queue.add(n);
            }
        }
        return Shape.UNBOUNDED;
    }
}
