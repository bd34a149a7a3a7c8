package clusterkv.fuzz;

import clusterkv.gguf.GGUFFile;
import clusterkv.gguf.GGUFFormatException;
import clusterkv.model.Model;
import clusterkv.tensor.UnsupportedTypeException;
import clusterkv.tokenizer.Tokenizer;

import java.nio.file.Path;

/**
 * Fuzz target: bytes read as a GGUF file, then as a model (config and weights) and as a tokenizer. The only
 * acceptable failures are the loader's one-line errors: {@link GGUFFormatException} for a broken file, and
 * {@link UnsupportedTypeException} for a well-formed tensor of a type without a kernel (I32, IQ2_XXS...); anything
 * else escapes and is a finding. The entry point is libFuzzer's, for Jazzer's standalone driver (scripts/fuzz).
 */
public final class GGUFTarget {

    private static final Path NAME = Path.of("fuzz.gguf");

    private GGUFTarget() {}

    public static void fuzzerTestOneInput(byte[] data) {
        GGUFFile file;
        try {
            file = GGUFFile.read(NAME, data);
        } catch (GGUFFormatException expected) {
            return;
        }
        try {
            Tokenizer.fromMetadata(file.metadata());
        } catch (GGUFFormatException expected) {
            // a model file without a usable tokenizer is still read as a model below
        }
        try (Model model = Model.from(file)) {
            model.config();
        } catch (GGUFFormatException | UnsupportedTypeException expected) {
            // Model.from closed the file
        }
    }
}
