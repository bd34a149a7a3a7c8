package clusterkv.grammar;

/** A JSON schema that cannot be compiled: malformed, or using a feature outside the supported subset (the message names it). */
public final class JsonSchemaException extends IllegalArgumentException {
    public JsonSchemaException(String message) {
        super(message);
    }
}
