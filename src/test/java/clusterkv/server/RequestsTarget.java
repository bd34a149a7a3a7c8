package clusterkv.server;

import clusterkv.chat.ChatPrompt;
import clusterkv.generate.SessionOptions;
import clusterkv.gguf.GGUFFile;
import clusterkv.tokenizer.Tokenizer;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * Fuzz target: bytes read as a completion request body by {@link Requests#parse}, set up as the server sets it up
 * with the stories260K tokenizer and its chat template. The first byte picks the endpoint (chat or text completion),
 * the rest is the body. The only acceptable failure is {@link ApiError}, the server's 4xx answer.
 */
public final class RequestsTarget {

    private static final Requests REQUESTS = requests();

    private RequestsTarget() {}

    private static Requests requests() {
        try (GGUFFile f = GGUFFile.open(Path.of("src/test/data/models/stories260K.gguf"))) {
            Tokenizer tok = Tokenizer.fromMetadata(f.metadata());
            return new Requests(new ObjectMapper(), tok, ChatPrompt.templateOf(f.metadata(), tok), SessionOptions.defaults(), java.util.Set.of(), 8, 512, 4);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static void fuzzerTestOneInput(byte[] data) {
        if (data.length == 0) return;
        byte[] body = java.util.Arrays.copyOfRange(data, 1, data.length);
        try {
            REQUESTS.parse((data[0] & 1) != 0, body);
        } catch (ApiError expected) {
            // a 4xx answer
        }
    }
}
