package clusterkv.generate;

/** Why generation ended. */
public enum StopReason {
    /** The model produced an end-of-generation token. */
    END_OF_TEXT,
    /** A stop string appeared. */
    STOP_STRING,
    /** The requested number of tokens was generated. */
    MAX_TOKENS,
    /** The context is full. */
    CONTEXT_FULL
}
