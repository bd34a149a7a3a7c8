package clusterkv.generate;

/** A session file that cannot be opened for this run: foreign, damaged, or made with another model or settings. */
public final class SessionFileException extends RuntimeException {
    public SessionFileException(String message) {
        super(message);
    }
}
