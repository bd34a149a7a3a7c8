package clusterkv.eval;

import clusterkv.gguf.GGUFFile;
import clusterkv.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What the generator tests share: ckv-tiny-2k's tokenizer and the start of War and Peace. */
final class EvalFixtures {

    private EvalFixtures() {}

    static Tokenizer tokenizer() throws IOException {
        try (GGUFFile f = GGUFFile.open(Path.of("src/test/data/models/ckv-tiny-2k.gguf"))) {
            return Tokenizer.fromMetadata(f.metadata());
        }
    }

    static String corpus(int chars) throws IOException {
        return Files.readString(Path.of("src/test/data/corpus/war_and_peace.txt")).substring(0, chars);
    }

    static int count(String s, String part) {
        int n = 0;
        for (int i = s.indexOf(part); i >= 0; i = s.indexOf(part, i + 1)) n++;
        return n;
    }
}
