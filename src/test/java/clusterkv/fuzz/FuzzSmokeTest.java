package clusterkv.fuzz;

import clusterkv.server.RequestsTarget;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The fuzz targets in ./run-tests: every file of their corpus (seeds, and each input that once failed) and then a
 * fixed-seed run of mutants of it, each of which may fail only with the target's accepted error. The long,
 * coverage-guided runs are scripts/fuzz's.
 */
class FuzzSmokeTest {

    static final Path CORPORA = Path.of("src/test/resources/clusterkv/fuzz");
    private static final long SEED = 16;

    @Test
    void ggufReaderAndModelLoading() {
        fuzz("gguf", GGUFTarget::fuzzerTestOneInput, 1500);
    }

    @Test
    void requestParser() {
        fuzz("requests", RequestsTarget::fuzzerTestOneInput, 1500);
    }

    private static void fuzz(String corpus, Consumer<byte[]> target, int mutants) {
        List<byte[]> inputs = corpus(corpus);
        assertFalse(inputs.isEmpty(), "seeds in " + CORPORA.resolve(corpus));
        inputs.forEach(input -> run(target, input, corpus));
        Mutator mutator = new Mutator(SEED);
        for (int i = 0; i < mutants; i++) run(target, mutator.mutate(inputs.get(i % inputs.size())), corpus);
    }

    private static void run(Consumer<byte[]> target, byte[] input, String corpus) {
        try {
            target.accept(input);
        } catch (Throwable t) {
            // The input in the message: saved under the corpus, it becomes a regression test.
            throw new AssertionError(t + " on an input to keep in " + CORPORA.resolve(corpus) + " (base64): "
                    + Base64.getEncoder().encodeToString(input), t);
        }
    }

    static List<byte[]> corpus(String name) {
        try (Stream<Path> files = Files.list(CORPORA.resolve(name))) {
            return files.sorted().map(FuzzSmokeTest::read).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] read(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
