package clusterkv.grammar;

import clusterkv.generate.GenerationOptions;
import clusterkv.generate.GenerationResult;
import clusterkv.generate.LanguageModel;
import clusterkv.generate.SamplingParams;
import clusterkv.generate.Session;
import clusterkv.generate.SessionOptions;
import clusterkv.generate.StopReason;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The target of structured output: 200 generations on stories260K (ten schemas, twenty seeds, temperature 1 with
 * nothing cut from the distribution) all parse and validate, judged by Jackson and networknt's JSON schema validator,
 * which share no code with the grammar. Token budgets are short and differ by seed, so that many generations must
 * close their value early to fit: none may be cut off.
 */
class ConstrainedGenerationTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static LanguageModel lm;

    @BeforeAll
    static void load() throws Exception {
        lm = LanguageModel.load(Path.of("src/test/data/models/stories260K.gguf"));
    }

    @AfterAll
    static void close() {
        lm.close();
    }

    @Test
    void everyConstrainedGenerationParsesAndValidates() throws Exception {
        JsonSchemaFactory validators = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
        int generations = 0, endedByTheGrammar = 0;
        for (String schema : Schemas.TEN) {
            JsonSchema validator = validators.getSchema(JSON.readTree(schema));
            JsonGrammar grammar = JsonGrammar.fromSchema(schema);
            for (int seed = 0; seed < 20; seed++) {
                int maxTokens = 40 + 8 * seed;
                var sampling = new SamplingParams(1f, 0, 1f, 0f, 1f, 64, seed);
                GenerationOptions options = new GenerationOptions(maxTokens, sampling, List.of()).withConstraint(grammar);
                GenerationResult r;
                try (Session s = lm.newSession(SessionOptions.defaults().withContextSize(512))) {
                    r = s.generate("Once upon a time", options, text -> {});
                }
                JsonNode value;
                try {
                    value = JSON.readTree(r.text());
                } catch (Exception e) {
                    fail("seed " + seed + " of " + schema + " wrote " + r.text() + ": " + e.getMessage());
                    return;
                }
                Set<ValidationMessage> errors = validator.validate(value);
                assertTrue(errors.isEmpty(), "seed " + seed + " of " + schema + " wrote " + r.text() + ": " + errors);
                assertTrue(grammar.matches(r.text()));
                if (r.stopReason() == StopReason.END_OF_TEXT) endedByTheGrammar++;
                generations++;
            }
        }
        assertEquals(200, generations);
        assertTrue(endedByTheGrammar > 100, "most generations end once the value is whole: " + endedByTheGrammar);
    }

    @Test
    void aBudgetBelowTheShortestValueCutsTheOutputShortAndSaysSo() {
        JsonGrammar grammar = JsonGrammar.fromSchema(Schemas.TEN.get(0)); // {"name":"","age":0} is 20 bytes
        try (Session s = lm.newSession(SessionOptions.defaults().withContextSize(512))) {
            GenerationResult r = s.generate("Once upon a time", GenerationOptions.greedy(3).withConstraint(grammar), t -> {});
            assertEquals(StopReason.MAX_TOKENS, r.stopReason());
            assertEquals(3, r.generatedTokens());
            assertTrue(r.text().startsWith("{"), r.text());
        }
    }
}
