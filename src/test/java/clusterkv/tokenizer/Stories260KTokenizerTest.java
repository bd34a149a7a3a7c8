package clusterkv.tokenizer;

import clusterkv.gguf.GGUFFile;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The SentencePiece tokenizer of a real model file (with tensors) against the token ids
 * llama.cpp produced for it in {@code stories260K.reference.json}.
 */
class Stories260KTokenizerTest {

    private static final Path MODEL = Path.of("src/test/data/models/stories260K.gguf");
    private static final Path REFERENCE = Path.of("src/test/data/models/stories260K.reference.json");
    private static Tokenizer tok;
    private static JsonNode cases;

    @BeforeAll
    static void load() throws IOException {
        try (GGUFFile f = GGUFFile.open(MODEL)) {
            tok = Tokenizer.fromMetadata(f.metadata());
        }
        cases = new ObjectMapper().readTree(REFERENCE.toFile());
    }

    @Test
    void specialTokensAndFlags() {
        assertEquals(512, tok.vocabSize());
        assertEquals(1, tok.bos());
        assertEquals(2, tok.eos());
        assertTrue(tok.addBos(), "no add_bos flag in the file: SentencePiece default is to add BOS");
        assertFalse(tok.addEos());
        assertTrue(tok.isEndOfGeneration(2));
        assertFalse(tok.isEndOfGeneration(1));
        assertFalse(tok.isEndOfGeneration(300));
        assertEquals("<s>", tok.tokenText(1));
    }

    @Test
    void promptsGiveLlamaCppIds() {
        assertEquals(3, cases.size());
        for (JsonNode c : cases) {
            int n = c.get("n_prompt").asInt();
            int[] expected = new int[n];
            for (int i = 0; i < n; i++) expected[i] = c.get("tokens").get(i).asInt();
            int[] got = tok.encode(c.get("prompt").asText(), true, false);
            assertArrayEquals(expected, got, c.get("name").asText());
        }
    }

    @Test
    void promptsDecodeBackToThemselves() {
        for (JsonNode c : cases) {
            String prompt = c.get("prompt").asText();
            assertEquals(prompt, tok.decode(tok.encode(prompt, false, false)), c.get("name").asText());
        }
    }

    @Test
    void referenceContinuationDecodesToTheKnownStory() {
        JsonNode once = cases.get(0);
        assertEquals("once", once.get("name").asText());
        int[] ids = new int[once.get("tokens").size()];
        for (int i = 0; i < ids.length; i++) ids[i] = once.get("tokens").get(i).asInt();
        String story = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park."
                + " One day, she saw a big, red ball.";
        // Like llama.cpp's detokenizer, a leading BOS keeps the space SentencePiece put before the first word.
        String decoded = tok.decode(ids);
        assertTrue(decoded.startsWith(" " + story), decoded);
        assertEquals(story, tok.decode(Arrays.copyOfRange(ids, 1, ids.length)).substring(0, story.length()));

        StreamingDecoder stream = new StreamingDecoder(tok);
        StringBuilder sb = new StringBuilder();
        for (int id : ids) sb.append(stream.accept(id));
        sb.append(stream.flush());
        assertEquals(decoded, sb.toString());
    }

    @Test
    void aMegabyteOfTextRoundTrips() throws IOException {
        Path corpus = Path.of("src/test/data/corpus/war_and_peace.txt");
        String text = Files.readString(corpus);
        text = text.substring(0, Math.min(text.length(), 1 << 20));
        int[] ids = tok.encode(text, true, false); // speed is a benchmark matter, not asserted here
        assertEquals(1, ids[0]);
        assertEquals(text, tok.decode(Arrays.copyOfRange(ids, 1, ids.length)));
    }
}
