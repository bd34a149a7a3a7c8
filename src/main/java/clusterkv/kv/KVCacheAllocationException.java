package clusterkv.kv;

/** The KV cache could not be allocated: too little memory for the positions asked (lower the context size). */
public final class KVCacheAllocationException extends IllegalStateException {
    public KVCacheAllocationException(String message, Throwable cause) {
        super(message, cause);
    }
}
