package clusterkv.cli;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Text files the user names (prompts, corpora): UTF-8, or a message that says which file is not. */
final class TextFiles {

    private TextFiles() {}

    static String readUtf8(Path file) throws IOException {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (CharacterCodingException e) {
            // The JDK's own message ("Input length = 1") names neither the file nor the problem.
            throw new IllegalArgumentException(file + " is not valid UTF-8 text (convert it, e.g. iconv -t UTF-8)");
        }
    }
}
