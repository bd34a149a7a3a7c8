package clusterkv.generate;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The README's Java API example, verbatim but for the model path, on the stories260K reference model. */
class ApiExampleTest {

    @Test
    void readmeExampleRunsAndStreamsTheGreedyContinuation() throws Exception {
        StringBuilder streamed = new StringBuilder();
        GenerationResult r;
        try (LanguageModel lm = LanguageModel.load(Path.of("src/test/data/models/stories260K.gguf"));
             Session session = lm.newSession(SessionOptions.defaults().withContextSize(2048))) {
            r = session.generate("Once upon a time", GenerationOptions.greedy(50), streamed::append);
        }
        // llama.cpp's greedy continuation, from src/test/data/README.md
        assertTrue(streamed.toString().startsWith(", there was a little girl named Lily. She loved to play outside in the park."), streamed.toString());
        assertEquals(streamed.toString(), r.text());
        assertEquals(50, r.generatedTokens());
        assertEquals(StopReason.MAX_TOKENS, r.stopReason());
    }

    @Test
    void stopStringsEndGenerationAndAreNotEmitted() throws Exception {
        StringBuilder streamed = new StringBuilder();
        try (LanguageModel lm = LanguageModel.load(Path.of("src/test/data/models/stories260K.gguf"));
             Session session = lm.newSession(SessionOptions.defaults().withContextSize(256))) {
            var opts = new GenerationOptions(100, SamplingParams.GREEDY, java.util.List.of("Lily"));
            GenerationResult r = session.generate("Once upon a time", opts, streamed::append);
            assertEquals(StopReason.STOP_STRING, r.stopReason());
            assertEquals(", there was a little girl named ", streamed.toString());
        }
    }

    @Test
    void sessionKeepsItsCacheAcrossCallsAndTruncates() throws Exception {
        try (LanguageModel lm = LanguageModel.load(Path.of("src/test/data/models/stories260K.gguf"));
             Session session = lm.newSession(SessionOptions.defaults().withContextSize(256))) {
            StringBuilder a = new StringBuilder(), b = new StringBuilder();
            session.generate("Once upon a time", GenerationOptions.greedy(10), a::append);
            int afterFirst = session.length();
            session.generate(GenerationOptions.greedy(10), a::append); // continues
            session.truncate(0);
            session.generate("Once upon a time", GenerationOptions.greedy(20), b::append);
            assertEquals(a.toString(), b.toString(), "two calls of 10 tokens continue exactly like one of 20");
            assertEquals(afterFirst + 10, session.length());
        }
    }
}
