package clusterkv.gguf;

/** A GGUF file that cannot be read: the message names the file and what is wrong with it. */
public class GGUFFormatException extends RuntimeException {
    public GGUFFormatException(String message) {
        super(message);
    }
}
