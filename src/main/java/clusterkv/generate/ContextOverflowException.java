package clusterkv.generate;

/** Tokens that do not fit in the session's context. */
public class ContextOverflowException extends RuntimeException {
    public final int used;
    public final int requested;
    public final int contextSize;

    public ContextOverflowException(int used, int requested, int contextSize) {
        super(used == 0
                ? "the prompt has " + requested + " tokens, more than the context size of " + contextSize
                : requested + " more tokens do not fit: " + used + " of " + contextSize + " context positions are in use");
        this.used = used;
        this.requested = requested;
        this.contextSize = contextSize;
    }
}
