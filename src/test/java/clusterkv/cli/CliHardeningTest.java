package clusterkv.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** Hostile command lines: each bad option fails at once, before a model loads, with one line naming the option. */
class CliHardeningTest {

    static final String MODEL = "src/test/data/models/stories260K.gguf";

    @TempDir
    Path dir;

    /** A bad argument list, the option its error line must name, and whether the line is followed by a hint to --help. */
    record Case(String option, List<String> args, boolean usage) {
        @Override
        public String toString() {
            return String.join(" ", args);
        }
    }

    private static Case c(String option, String... args) {
        return new Case(option, List.of(args), false);
    }

    private static Case usage(String option, String... args) {
        return new Case(option, List.of(args), true);
    }

    private static Case generate(String option, String... bad) {
        return c(option, Stream.concat(Stream.of("generate", "-m", MODEL, "-p", "x"), Stream.of(bad)).toArray(String[]::new));
    }

    static Stream<Case> badOptions() {
        int tooMany = Runtime.getRuntime().availableProcessors() + 1;
        return Stream.of(
                generate("--threads", "--threads", "10000"),
                generate("--threads", "-t", String.valueOf(tooMany)),
                generate("--threads", "-t", "0"),
                generate("--ctx-size", "-c", "-5"),
                generate("--n-predict", "-n", "-1"),
                generate("--temperature", "--temperature", "NaN"),
                generate("--temperature", "--temp", "Infinity"),
                generate("--temperature", "--temp", "-0.5"),
                generate("--top-k", "--top-k", "-1"),
                generate("--top-p", "--top-p", "NaN"),
                generate("--top-p", "--top-p", "0"),
                generate("--min-p", "--min-p", "1.5"),
                generate("--min-p", "--min-p", "NaN"),
                generate("--repeat-penalty", "--repeat-penalty", "0"),
                generate("--repeat-penalty", "--repeat-penalty", "NaN"),
                generate("--repeat-penalty", "--repeat-penalty", "Infinity"),
                generate("--sink", "--sink", "-5"),
                generate("--kv-budget", "--kv-budget", "0"),
                generate("--kv-budget", "--kv-budget", "-1"),
                generate("--window", "--window", "-1"),
                generate("--clusters", "--clusters", "-1"),
                generate("--kmeans-iters", "--kmeans-iters", "0"),
                generate("--kmeans-iters", "--kmeans-iters", "2000000000"),
                generate("--dense-layers", "--dense-layers", "-1"),
                generate("--page-size", "--page-size", "0"),
                generate("--gqa-select", "--gqa-select", "both"),
                generate("--kv-type", "--kv-type", "f8"),
                generate("--kv-policy", "--kv-policy", "nope"),
                c("--temperature", "chat", "-m", MODEL, "--temperature", "NaN"),
                c("--threads", "chat", "-m", MODEL, "-t", "10000"),
                c("--ctx-size", "perplexity", "-m", MODEL, "-f", "pom.xml", "-c", "1"),
                c("--ctx-size", "perplexity", "-m", MODEL, "-f", "pom.xml", "-c", "2"),
                c("--ctx-size", "perplexity", "-m", MODEL, "-f", "pom.xml", "-c", "-5"),
                c("--context", "bench", "--context", "-5"),
                c("--context", "bench", "--context", "0"),
                c("--sweep-context", "bench", "--sweep-context", "4096,-1"),
                c("--n-prompt", "bench", "-p", "0"),
                c("--n-gen", "bench", "-n", "-1"),
                c("--threads", "bench", "-t", "10000"),
                c("--kv-fill", "bench", "--kv-fill", "random"),
                c("--sink", "bench", "--sink", "-5"),
                c("--shape", "bench", "--shape", "nope"),
                c("--type", "synth", "--shape", "tiny", "-o", "x.gguf", "--type", "q3"),
                c("--shape", "synth", "--shape", "huge", "-o", "x.gguf"),
                c("--samples", "eval", "-m", MODEL, "--samples", "0"),
                c("--depths", "eval", "-m", MODEL, "--depths", "NaN"),
                c("--context", "eval", "-m", MODEL, "--context", "0"),
                c("--kv-budget", "eval", "-m", MODEL, "--kv-budget", "-1"),
                c("--shard", "eval", "-m", MODEL, "--shard", "0/2"),
                c("--shard", "eval", "-m", MODEL, "--shard", "x"),
                c("--threads", "eval", "-m", MODEL, "-t", "10000"),
                c("--vocab-size", "synth", "--shape", "tiny", "-o", "x.gguf", "--vocab-size", "-1"),
                c("--vocab-size", "synth", "--shape", "tiny", "-o", "x.gguf", "--vocab-size", "2000000000"),
                c("--threads", "serve", "-m", MODEL, "-t", "10000"),
                c("--max-body-kb", "serve", "-m", MODEL, "--max-body-kb", "0"),
                c("--header-timeout", "serve", "-m", MODEL, "--header-timeout", "0"),
                c("--body-timeout", "serve", "-m", MODEL, "--body-timeout", "NaN"),
                c("--parallel", "serve", "-m", MODEL, "--parallel", "0"),
                c("--queue", "serve", "-m", MODEL, "--queue", "-1"),
                c("--port", "serve", "-m", MODEL, "--port", "70000"),
                c("--kv-stats", "serve", "-m", MODEL, "--kv-stats"),
                // usage errors proper
                usage("-x", "generate", "-m", MODEL, "-p", "x", "-x"),
                usage("--model", "generate", "-p", "x"),
                usage("--ctx-size", "generate", "-m", MODEL, "-p", "x", "-c", "abc"),
                usage("--threads", "bench", "-t", "many"),
                usage("'nope'", "nope"));
    }

    @ParameterizedTest
    @MethodSource("badOptions")
    void badOptionGivesOneLineNamingIt(Case c) {
        BadInputTest.Outcome o = BadInputTest.run(c.args().toArray(String[]::new));
        assertEquals(2, o.code(), o.err());
        String[] lines = o.err().strip().split("\n");
        assertTrue(lines[0].startsWith("error: ") && lines[0].contains(c.option()), lines[0]);
        // syntax errors point to the help; a value out of range names its range, on one line
        List<String> expected = c.usage() ? List.of(lines[0], hint(c.args().getFirst())) : List.of(lines[0]);
        assertEquals(expected, List.of(lines), o.err());
        assertEquals("", o.out());
    }

    private static String hint(String command) {
        return command.equals("nope") ? "try 'clusterkv --help'" : "try 'clusterkv " + command + " --help'";
    }

    @Test
    void helpStillWorksBesideABadValue() {
        BadInputTest.Outcome o = BadInputTest.run("generate", "--help", "--sink", "-5");
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("--sink"), o.out());
    }

    @Test
    void promptFileThatIsNotUtf8IsNamed() throws Exception {
        Path latin1 = dir.resolve("latin1.txt");
        Files.write(latin1, new byte[]{'c', 'a', 'f', (byte) 0xe9, '\n'});
        for (String command : List.of("generate", "tokenize")) {
            BadInputTest.Outcome o = BadInputTest.run(command, "-m", MODEL, "-f", latin1.toString());
            assertEquals(1, o.code(), o.err());
            assertEquals("error: " + latin1 + " is not valid UTF-8 text (convert it, e.g. iconv -t UTF-8)", o.err().strip());
        }
    }

    @Test
    void perplexityContextOfThreeScoresOnePredictionPerChunk() throws Exception {
        Path text = dir.resolve("t.txt");
        Files.writeString(text, "Once upon a time there was a little girl.");
        BadInputTest.Outcome o = BadInputTest.run("perplexity", "-m", MODEL, "-f", text.toString(), "-c", "3", "-t", "1");
        assertEquals(0, o.code(), o.err());
        assertFalse(o.out().contains("NaN"), o.out());
        assertTrue(o.out().matches("(?s)PPL = \\d.*"), o.out());
    }

    @Test
    void errorLinesEscapeControlCharactersAndStayOneLine() {
        String line = Main.describe(new IllegalArgumentException("bad name '\u001b[2J\u0007x'\nsecond line"));
        assertEquals("bad name '\\x1b[2J\\x07x' second line", line);
    }
}
