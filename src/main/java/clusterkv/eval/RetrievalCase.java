package clusterkv.eval;

/**
 * One generated retrieval prompt: the token ids to feed (BOS first when the model wants it), the text
 * the model must produce, and where the needle starts.
 *
 * @param needleStart token index of the first needle token
 * @param depth       needleStart as a fraction of the haystack, as actually placed
 */
public record RetrievalCase(String task, int[] tokens, String answer, int needleStart, double depth, long seed) {}
