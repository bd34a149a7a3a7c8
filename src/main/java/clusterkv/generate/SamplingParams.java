package clusterkv.generate;

/**
 * How the next token is drawn from the logits. Temperature 0 means greedy (argmax).
 * Defaults are llama.cpp's.
 *
 * @param repeatLastN      how many recent tokens the repetition penalty looks at
 * @param presencePenalty  OpenAI's presence penalty: subtracted once from the logit of every token generated so far
 * @param frequencyPenalty OpenAI's frequency penalty: subtracted from a token's logit once per time it was generated
 */
public record SamplingParams(float temperature, int topK, float topP, float minP,
                             float repeatPenalty, int repeatLastN, long seed,
                             float presencePenalty, float frequencyPenalty) {

    public static final SamplingParams DEFAULT = new SamplingParams(0.8f, 40, 0.95f, 0.05f, 1.0f, 64, -1);
    public static final SamplingParams GREEDY = DEFAULT.withTemperature(0);

    public SamplingParams {
        // Written as the allowed ranges so that NaN, which fails every comparison, is refused too.
        if (!(temperature >= 0 && Float.isFinite(temperature))) throw new IllegalArgumentException("temperature must be a finite number >= 0, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("top-k must be >= 0, got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        if (!(minP >= 0 && minP <= 1)) throw new IllegalArgumentException("min-p must be in [0, 1], got " + minP);
        if (!(repeatPenalty > 0 && Float.isFinite(repeatPenalty))) throw new IllegalArgumentException("repeat penalty must be a finite number > 0, got " + repeatPenalty);
        if (repeatLastN < 0) throw new IllegalArgumentException("repeat-last-n must be >= 0, got " + repeatLastN);
        if (!(Math.abs(presencePenalty) <= 2)) throw new IllegalArgumentException("presence penalty must be in [-2, 2], got " + presencePenalty);
        if (!(Math.abs(frequencyPenalty) <= 2)) throw new IllegalArgumentException("frequency penalty must be in [-2, 2], got " + frequencyPenalty);
    }

    /** Without presence and frequency penalties. */
    public SamplingParams(float temperature, int topK, float topP, float minP, float repeatPenalty, int repeatLastN, long seed) {
        this(temperature, topK, topP, minP, repeatPenalty, repeatLastN, seed, 0, 0);
    }

    public SamplingParams withTemperature(float t) {
        return new SamplingParams(t, topK, topP, minP, repeatPenalty, repeatLastN, seed, presencePenalty, frequencyPenalty);
    }

    public SamplingParams withSeed(long s) {
        return new SamplingParams(temperature, topK, topP, minP, repeatPenalty, repeatLastN, s, presencePenalty, frequencyPenalty);
    }

    public SamplingParams withPenalties(float presence, float frequency) {
        return new SamplingParams(temperature, topK, topP, minP, repeatPenalty, repeatLastN, seed, presence, frequency);
    }

    public boolean greedy() {
        return temperature == 0;
    }

    boolean penalisesGenerated() {
        return presencePenalty != 0 || frequencyPenalty != 0;
    }
}
