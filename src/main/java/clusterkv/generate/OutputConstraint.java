package clusterkv.generate;

import clusterkv.tokenizer.Tokenizer;

/**
 * A rule the generated text must follow, such as a JSON schema: before each draw, the tokens that would break it
 * are taken out of the logits. Immutable and shareable; {@link #start} makes the state of one generation.
 */
public interface OutputConstraint {

    Constraint start(Tokenizer tokenizer);

    /** The rule applied to one generation, token by token. Not thread-safe. */
    interface Constraint {
        /**
         * Sets to -infinity the logit of every token that may not come next, given that at most {@code tokensLeft}
         * tokens, this one included, may still be generated (so that the text can be complete when they run out).
         */
        void restrict(float[] logits, int tokensLeft);

        /** The token that was drawn and fed. */
        void accept(int token);

        /** Whether the output is whole and nothing may follow it: generation ends as at an end-of-generation token. */
        boolean finished();
    }
}
