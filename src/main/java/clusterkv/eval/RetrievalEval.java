package clusterkv.eval;

import clusterkv.generate.GenerationOptions;
import clusterkv.generate.GenerationResult;

import java.util.function.BiFunction;
import java.util.function.ToDoubleBiFunction;

/**
 * Retrieval tasks (passkey, facts, niah): the prompt is prefilled (exact attention, as the papers do),
 * the answer is decoded greedily through the policy, and the text it produced is scored.
 */
final class RetrievalEval implements EvalTask {

    private final String name;
    private final boolean usesDepth;
    private final boolean needsCorpus;
    private final int answerTokens;
    private final BiFunction<EvalContext, EvalCase, RetrievalCase> generator;
    private final ToDoubleBiFunction<String, String> scorer;

    RetrievalEval(String name, boolean usesDepth, boolean needsCorpus, int answerTokens,
                  BiFunction<EvalContext, EvalCase, RetrievalCase> generator, ToDoubleBiFunction<String, String> scorer) {
        this.name = name;
        this.usesDepth = usesDepth;
        this.needsCorpus = needsCorpus;
        this.answerTokens = answerTokens;
        this.generator = generator;
        this.scorer = scorer;
    }

    @Override public String name() { return name; }
    @Override public boolean usesDepth() { return usesDepth; }
    @Override public boolean needsCorpus() { return needsCorpus; }

    @Override
    public Outcome run(EvalContext context, EvalCase c) {
        RetrievalCase prompt = generator.apply(context, c);
        try (EvalContext.Probed probed = context.open(c)) {
            probed.session().append(prompt.tokens(), null);
            GenerationResult r = probed.session().generate(GenerationOptions.greedy(answerTokens), text -> {});
            double score = scorer.applyAsDouble(r.text(), prompt.answer());
            String detail = "expected " + prompt.answer() + ", got \"" + r.text().strip().replace('\n', ' ') + "\"";
            return new Outcome(score, 1, null, probed.statsMap(), detail);
        }
    }
}
