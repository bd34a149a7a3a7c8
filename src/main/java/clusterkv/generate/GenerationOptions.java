package clusterkv.generate;

import java.util.List;

/**
 * @param maxTokens generated tokens at most (the context end stops generation earlier)
 * @param stops      strings that end generation; they are not part of the output
 * @param constraint what the output must be (a JSON schema, say), or null for any text
 */
public record GenerationOptions(int maxTokens, SamplingParams sampling, List<String> stops, OutputConstraint constraint) {

    public GenerationOptions {
        if (maxTokens < 0) throw new IllegalArgumentException("n-predict must be >= 0, got " + maxTokens);
        stops = List.copyOf(stops);
    }

    public GenerationOptions(int maxTokens, SamplingParams sampling, List<String> stops) {
        this(maxTokens, sampling, stops, null);
    }

    public GenerationOptions withConstraint(OutputConstraint constraint) {
        return new GenerationOptions(maxTokens, sampling, stops, constraint);
    }

    public static GenerationOptions greedy(int maxTokens) {
        return new GenerationOptions(maxTokens, SamplingParams.GREEDY, List.of());
    }
}
