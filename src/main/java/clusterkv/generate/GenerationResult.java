package clusterkv.generate;

/** What one generate call did, with its timings (nanoseconds). */
public record GenerationResult(String text, int promptTokens, int generatedTokens, StopReason stopReason,
                               long prefillNanos, long decodeNanos) {

    public double prefillTokensPerSecond() {
        return promptTokens == 0 ? 0 : promptTokens / (prefillNanos / 1e9);
    }

    public double decodeTokensPerSecond() {
        return generatedTokens == 0 ? 0 : generatedTokens / (decodeNanos / 1e9);
    }
}
