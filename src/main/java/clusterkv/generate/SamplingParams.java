package clusterkv.generate;

/**
 * How the next token is drawn from the logits. Temperature 0 means greedy (argmax).
 * Defaults are llama.cpp's.
 *
 * @param repeatLastN how many recent tokens the repetition penalty looks at
 */
public record SamplingParams(float temperature, int topK, float topP, float minP,
                             float repeatPenalty, int repeatLastN, long seed) {

    public static final SamplingParams DEFAULT = new SamplingParams(0.8f, 40, 0.95f, 0.05f, 1.0f, 64, -1);
    public static final SamplingParams GREEDY = DEFAULT.withTemperature(0);

    public SamplingParams {
        if (temperature < 0) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("top-k must be >= 0, got " + topK);
        if (topP <= 0 || topP > 1) throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        if (minP < 0 || minP > 1) throw new IllegalArgumentException("min-p must be in [0, 1], got " + minP);
        if (repeatPenalty <= 0) throw new IllegalArgumentException("repeat penalty must be > 0, got " + repeatPenalty);
    }

    public SamplingParams withTemperature(float t) {
        return new SamplingParams(t, topK, topP, minP, repeatPenalty, repeatLastN, seed);
    }

    public SamplingParams withSeed(long s) {
        return new SamplingParams(temperature, topK, topP, minP, repeatPenalty, repeatLastN, s);
    }

    public boolean greedy() {
        return temperature == 0;
    }
}
