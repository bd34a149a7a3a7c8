package clusterkv.tensor;

/** A tensor type the engine cannot compute with. */
public class UnsupportedTypeException extends RuntimeException {
    public UnsupportedTypeException(String message) {
        super(message);
    }
}
