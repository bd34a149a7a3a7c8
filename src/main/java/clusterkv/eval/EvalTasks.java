package clusterkv.eval;

import clusterkv.chat.ChatPrompt;

import java.util.List;

/** The tasks by name. */
public final class EvalTasks {

    public static final List<String> NAMES = List.of("passkey", "facts", "multivalue", "multiquery", "variables", "commonwords", "niah", "copy", "ppl");
    /** Numbers per fact in the multivalue task. */
    static final int VALUES = 3;
    /** Facts hidden per facts prompt. */
    static final int FACTS = 4;

    private EvalTasks() {}

    public static EvalTask create(String name) {
        return switch (name) {
            case "passkey" -> new RetrievalEval("passkey", true, false, 8,
                    (ctx, c) -> PasskeyTask.generate(ctx.lm().tokenizer(), c.context(), c.depth(), c.promptSeed(ctx.seed())),
                    Scoring::exactDigits);
            case "facts" -> new RetrievalEval("facts", false, true, 8,
                    (ctx, c) -> FactsTask.generate(ctx.lm().tokenizer(), ctx.requireCorpus("facts"), c.context(), FACTS, c.promptSeed(ctx.seed())),
                    Scoring::exactDigits);
            case "multivalue" -> new RetrievalEval("multivalue", false, true, 8 * VALUES,
                    (ctx, c) -> FactsTask.generate(ctx.lm().tokenizer(), ctx.requireCorpus("multivalue"), c.context(), FACTS, VALUES,
                            c.promptSeed(ctx.seed())),
                    Scoring::allNumbers);
            case "multiquery" -> new MultiQueryEval(FACTS);
            case "variables" -> new RetrievalEval("variables", false, true, 8,
                    (ctx, c) -> VariableTrackingTask.generate(ctx.lm().tokenizer(), ctx.requireCorpus("variables"), c.context(), c.promptSeed(ctx.seed())),
                    Scoring::exactDigits);
            case "commonwords" -> new RetrievalEval("commonwords", false, true, 4 * CommonWordsTask.COMMON,
                    (ctx, c) -> CommonWordsTask.generate(ctx.lm().tokenizer(), ctx.requireCorpus("commonwords"), c.context(), c.promptSeed(ctx.seed())),
                    Scoring::wordRecall);
            case "niah" -> new RetrievalEval("niah", true, true, NiahTask.ANSWER_ROOM - 8,
                    (ctx, c) -> NiahTask.generate(ctx.lm().tokenizer(), ChatPrompt.templateOf(ctx.lm().model().file().metadata(), ctx.lm().tokenizer()),
                            ctx.requireCorpus("niah"), c.context(), c.depth(), c.promptSeed(ctx.seed())),
                    Scoring::containsPhrase);
            case "copy" -> new CopyEval();
            case "ppl" -> new PplEval();
            default -> throw new IllegalArgumentException("unknown task '" + name + "' (known: " + String.join(", ", NAMES) + ")");
        };
    }
}
