package clusterkv.cli;

import clusterkv.gguf.GGUFFile;
import clusterkv.tokenizer.Tokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.StringJoiner;
import java.util.concurrent.Callable;

/** Prints token ids; works on vocabulary-only GGUF files (no weights needed). */
@Command(name = "tokenize", description = "Print the token ids of a text, space separated, on one line.")
final class TokenizeCommand implements Callable<Integer> {

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "FILE", description = "GGUF model or vocabulary file.")
    String model;

    @ArgGroup(multiplicity = "1")
    TextInput input;

    @Option(names = "--no-bos", description = "Do not add BOS even if the model's metadata asks for it.")
    boolean noBos;

    @Option(names = "--parse-special", description = "Recognise special-token texts such as <|im_start|> in the input.")
    boolean parseSpecial;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        String text = input.read();
        try (GGUFFile f = GGUFFile.open(ModelSource.resolve(model))) {
            Tokenizer tok = Tokenizer.fromMetadata(f.metadata());
            int[] ids = tok.encode(text, !noBos, parseSpecial);
            StringJoiner line = new StringJoiner(" ");
            for (int id : ids) line.add(Integer.toString(id));
            System.out.println(line);
        }
        return 0;
    }

    /** Either -p TEXT or -f FILE. */
    static final class TextInput {
        @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", description = "Inline text.")
        String prompt;

        @Option(names = {"-f", "--file"}, paramLabel = "FILE", description = "Read the text from a file (UTF-8).")
        Path file;

        String read() throws java.io.IOException {
            return prompt != null ? prompt : TextFiles.readUtf8(file);
        }
    }
}
