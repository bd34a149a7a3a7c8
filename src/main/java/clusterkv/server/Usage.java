package clusterkv.server;

/**
 * Token counts of one request, as OpenAI's {@code usage} object.
 *
 * @param cachedTokens prompt tokens whose KV cache was reused from an earlier request instead of prefilled
 */
record Usage(int promptTokens, int completionTokens, int cachedTokens) {

    int totalTokens() {
        return promptTokens + completionTokens;
    }
}
