package clusterkv.gguf;

/**
 * A GGUF file that cannot be read or does not describe a usable model: the message names the file, key or
 * tensor at fault and what is wrong with it. An IllegalArgumentException, since the file is the argument
 * that is wrong; callers that report bad arguments in one line report this one too.
 */
public class GGUFFormatException extends IllegalArgumentException {
    public GGUFFormatException(String message) {
        super(message);
    }
}
