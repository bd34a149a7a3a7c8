package clusterkv.generate;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** OpenAI's presence and frequency penalties, against values worked out by hand. */
class SamplerPenaltyTest {

    @Test
    void penaltiesFollowOpenAIsFormula() {
        // logit[j] -= count[j] * frequency + (count[j] > 0) * presence, with presence 0.5 and frequency 0.25
        float[] logits = {1f, 2f, 3f, 4f};
        Sampler.applyPresenceFrequency(logits, new int[]{0, 1, 3, 0}, 0.5f, 0.25f);
        assertArrayEquals(new float[]{1f, 1.25f, 1.75f, 4f}, logits, 1e-6f);
    }

    @Test
    void negativePenaltiesFavourRepeats() {
        float[] logits = {1f, 2f};
        Sampler.applyPresenceFrequency(logits, new int[]{2, 0}, -1f, -0.5f);
        assertArrayEquals(new float[]{3f, 2f}, logits, 1e-6f); // 1 + 2 * 0.5 + 1
    }

    @Test
    void onlyAcceptedTokensCountAndThePromptDoesNot() {
        Sampler s = new Sampler(SamplingParams.GREEDY.withPenalties(0f, 0.6f));
        int[] prompt = {0, 0, 0}; // the history the sampler sees: not counted by these penalties
        assertEquals(0, s.sample(new float[]{2.0f, 1.5f, 0.1f}, prompt, prompt.length));
        s.accept(0);                                                            // token 0: 2.0 - 0.6 = 1.4 < 1.5
        assertEquals(1, s.sample(new float[]{2.0f, 1.5f, 0.1f}, prompt, prompt.length));
        s.accept(1);                                                            // 1.4 against 1.5 - 0.6 = 0.9
        assertEquals(0, s.sample(new float[]{2.0f, 1.5f, 0.1f}, prompt, prompt.length));
    }

    @Test
    void zeroPenaltiesLeaveSamplingUnchanged() {
        Sampler s = new Sampler(SamplingParams.GREEDY);
        s.accept(0);
        assertEquals(0, s.sample(new float[]{2.0f, 1.5f}, null, 0));
    }

    @Test
    void outOfRangePenaltiesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.DEFAULT.withPenalties(2.5f, 0));
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.DEFAULT.withPenalties(0, Float.NaN));
    }
}
