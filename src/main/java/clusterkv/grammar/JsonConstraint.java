package clusterkv.grammar;

import clusterkv.generate.OutputConstraint;

/** A {@link JsonGrammar} applied to one generation: the match state of the text so far. */
final class JsonConstraint implements OutputConstraint.Constraint {

    private final JsonGrammar grammar;
    private final TokenTrie trie;
    private MatchState state;

    JsonConstraint(JsonGrammar grammar, TokenTrie trie) {
        this.grammar = grammar;
        this.trie = trie;
        this.state = grammar.initial();
    }

    @Override
    public void restrict(float[] logits, int tokensLeft) {
        long[] allowed = grammar.mask(state, tokensLeft - 1, trie);
        for (int t = 0; t < logits.length; t++) {
            if (t >= trie.vocabSize || (allowed[t >>> 6] & 1L << t) == 0) logits[t] = Float.NEGATIVE_INFINITY;
        }
    }

    @Override
    public void accept(int token) {
        MatchState next = state.advance(trie.bytes(token));
        if (next == null) throw new IllegalStateException("token " + token + " breaks the JSON grammar: it was not allowed");
        state = next;
    }

    @Override
    public boolean finished() {
        return state == MatchState.DONE;
    }
}
