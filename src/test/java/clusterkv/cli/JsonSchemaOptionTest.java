package clusterkv.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** generate -j / --json-schema-file: the output is a value of the schema; a schema outside the subset is a usage error naming it. */
class JsonSchemaOptionTest {

    private static final String MODEL = "src/test/data/models/stories260K.gguf";

    @Test
    void generateWritesAValueOfTheSchema(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        String schema = "{\"type\": \"object\", \"properties\": {\"hero\": {\"type\": \"string\", \"maxLength\": 10}, \"age\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 99}},"
                + " \"required\": [\"hero\", \"age\"]}";
        BadInputTest.Outcome o = BadInputTest.run("generate", "-m", MODEL, "-p", "Once upon a time", "-n", "40", "--seed", "3", "-j", schema);
        assertEquals(0, o.code(), o.err());
        JsonNode value = new ObjectMapper().readTree(o.out());
        assertTrue(value.get("hero").isTextual() && value.get("age").asInt() >= 1 && value.get("age").asInt() <= 99, o.out());
        Path file = dir.resolve("schema.json");
        Files.writeString(file, "{\"enum\": [\"yes\", \"no\"]}");
        o = BadInputTest.run("generate", "-m", MODEL, "-p", "Is it?", "-n", "8", "--json-schema-file", file.toString());
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().strip().equals("\"yes\"") || o.out().strip().equals("\"no\""), o.out());
    }

    @Test
    void aSchemaOutsideTheSubsetIsAUsageErrorNamingIt() {
        BadInputTest.Outcome o = BadInputTest.run("generate", "-m", MODEL, "-p", "x", "-j", "{\"type\": \"array\", \"uniqueItems\": true}");
        assertEquals(2, o.code(), o.err());
        assertTrue(o.err().contains("--json-schema: unsupported JSON schema keyword 'uniqueItems'"), o.err());
        o = BadInputTest.run("generate", "-m", MODEL, "-p", "x", "-j", "{not json");
        assertEquals(2, o.code(), o.err());
        assertTrue(o.err().contains("--json-schema: the JSON schema is not valid JSON"), o.err());
    }
}
