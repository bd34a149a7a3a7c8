package clusterkv.tokenizer;

import clusterkv.gguf.GGUFFile;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * llama.cpp's tokenizer test vectors (tests/test-tokenizer-0): every string of each
 * {@code ggml-vocab-NAME.gguf.inp} must give exactly the ids of the matching line of the
 * {@code .out} file, tokenized without BOS and without parsing special tokens.
 */
class LlamaCppVectorsTest {

    static final Path DIR = Path.of("src/test/data/tokenizers");
    static final List<String> VOCABS = List.of("llama-spm", "phi-3", "gpt-2", "starcoder", "deepseek-llm");
    private static final String SEPARATOR = "\n__ggml_vocab_test__\n";

    record Vector(String input, int[] expected) {}

    static Tokenizer load(String name) throws IOException {
        Path gguf = DIR.resolve("ggml-vocab-" + name + ".gguf");
        try (GGUFFile f = GGUFFile.open(gguf)) {
            return Tokenizer.fromMetadata(f.metadata());
        }
    }

    /** Splits the inputs the way test-tokenizer-0.cpp does: the newline before a separator belongs to it. */
    static List<String> splitInputs(String raw) {
        List<String> inputs = new ArrayList<>();
        int pos = 0;
        while (pos < raw.length()) {
            int next = raw.indexOf(SEPARATOR, pos);
            if (next < 0) {
                inputs.add(raw.substring(pos));
                break;
            }
            inputs.add(raw.substring(pos, next));
            pos = next + SEPARATOR.length();
        }
        return inputs;
    }

    static int[] parseIds(String line) {
        String s = line.strip();
        return s.isEmpty() ? new int[0] : Arrays.stream(s.split(" ")).mapToInt(Integer::parseInt).toArray();
    }

    static List<Vector> vectors(String name) throws IOException {
        Path gguf = DIR.resolve("ggml-vocab-" + name + ".gguf");
        String raw = Files.readString(Path.of(gguf + ".inp"), StandardCharsets.UTF_8);
        List<String> outs = Files.readAllLines(Path.of(gguf + ".out"), StandardCharsets.UTF_8);
        List<String> inputs = splitInputs(raw);
        assertEquals(outs.size(), inputs.size(), name + ": .inp and .out disagree on the number of tests");
        List<Vector> vectors = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) vectors.add(new Vector(inputs.get(i), parseIds(outs.get(i))));
        return vectors;
    }

    @TestFactory
    Stream<DynamicContainer> everyVectorGivesLlamaCppIds() {
        return VOCABS.stream().map(name -> {
            try {
                Tokenizer tok = load(name);
                List<Vector> vectors = vectors(name);
                List<DynamicTest> tests = new ArrayList<>();
                for (int i = 0; i < vectors.size(); i++) {
                    Vector v = vectors.get(i);
                    tests.add(DynamicTest.dynamicTest("#" + i + " " + printable(v.input()), () ->
                            assertArrayEquals(v.expected(), tok.encode(v.input(), false, false),
                                    () -> "input '" + printable(v.input()) + "'")));
                }
                return DynamicContainer.dynamicContainer(name, tests);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
    }

    @TestFactory
    Stream<DynamicTest> inputFilesParseAsLlamaCppReadsThem() {
        return VOCABS.stream().map(name -> DynamicTest.dynamicTest(name, () -> {
            List<Vector> vectors = vectors(name);
            assertEquals(46, vectors.size());
            assertEquals("ied 4 ½ months", vectors.get(0).input());
            assertEquals("", vectors.get(2).input());
            assertEquals(0, vectors.get(2).expected().length);
            assertEquals("\n", vectors.get(7).input());
        }));
    }

    @Test
    void splittingKeepsEmptyStringsAndDropsTheTrailingSeparator() {
        assertEquals(List.of("a", "", " b\n"), splitInputs("a\n__ggml_vocab_test__\n\n__ggml_vocab_test__\n b\n\n__ggml_vocab_test__\n"));
    }

    private static String printable(String s) {
        String t = s.replace("\n", "\\n").replace("\t", "\\t");
        return t.length() > 60 ? t.substring(0, 60) + "…" : t;
    }
}
