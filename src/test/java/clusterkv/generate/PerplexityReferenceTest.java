package clusterkv.generate;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Perplexity against llama-perplexity's figures on the same files (src/test/data/README.md): the protocol
 * (chunking, BOS, which half is scored) and the forward pass together. llama.cpp keeps an F16 KV cache and
 * quantizes nothing else on these F32 models, so the two agree to a few parts in 10^4.
 */
class PerplexityReferenceTest {

    private static final String TEXT = "src/test/data/corpus/pg19_firstbook.txt";

    @Test
    void stories260KAtContext256() throws Exception {
        assertPerplexity("stories260K", 256, 21, 32.4354);
    }

    @Test
    void ckvTiny2kAtContext1024() throws Exception {
        assertPerplexity("ckv-tiny-2k", 1024, 5, 11.6132);
    }

    private static void assertPerplexity(String model, int context, int chunks, double llamaCpp) throws Exception {
        try (LanguageModel lm = LanguageModel.load(Path.of("src/test/data/models/" + model + ".gguf"))) {
            Perplexity.Result r = Perplexity.compute(lm, Files.readString(Path.of(TEXT)),
                    SessionOptions.defaults().withContextSize(context), null);
            System.out.printf("%s -c %d: PPL %.4f over %d chunks (llama.cpp %.4f)%n", model, context, r.ppl(), r.chunks(), llamaCpp);
            assertEquals(chunks, r.chunks());
            assertEquals(llamaCpp, r.ppl(), 5e-4 * llamaCpp);
        }
    }
}
