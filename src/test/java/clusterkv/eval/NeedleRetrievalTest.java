package clusterkv.eval;

import clusterkv.generate.LanguageModel;
import clusterkv.generate.SessionOptions;
import clusterkv.kv.PolicyConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * On ckv-induction (exact 8-gram induction: its layer 2 finds one key among thousands), at 1/32 of a 2048-token
 * context: ClusterKV's clusters hold the needle's key and it answers as full attention does; Quest's page bounds,
 * loose over this model's 304-value heads, miss it (docs/evaluation.md, instrument B).
 */
class NeedleRetrievalTest {

    private static LanguageModel lm;
    private static EvalContext context;

    @BeforeAll
    static void load() throws Exception {
        lm = LanguageModel.load(Path.of("src/test/data/models/ckv-induction.gguf"));
        context = new EvalContext(lm, EvalFixtures.corpus(400_000), SessionOptions.defaults(), PolicyConfig.DEFAULT, true, 0);
    }

    @AfterAll
    static void close() {
        lm.close();
    }

    private static EvalTask.Outcome run(String task, String policy, double depth) {
        EvalCase c = new EvalCase(task, policy, policy.equals("full") ? 0 : 64, 2048, depth, 0);
        return EvalTasks.create(task).run(context, c);
    }

    @Test
    void clusterKVFindsTheNeedleAtABudgetOf64AndQuestDoesNot() {
        for (double depth : new double[]{0.5}) {
            assertEquals(1.0, run("passkey", "full", depth).score(), "full attention, depth " + depth);
            EvalTask.Outcome clusterkv = run("passkey", "clusterkv", depth);
            assertEquals(1.0, clusterkv.score(), "clusterkv, depth " + depth + ": " + clusterkv.detail());
            assertTrue((double) clusterkv.kvStats().get("attention_mass_recall") > 0.99, "the needle's key was selected: " + clusterkv.kvStats());
            EvalTask.Outcome quest = run("passkey", "quest", depth);
            assertEquals(0.0, quest.score(), "quest, depth " + depth + ": " + quest.detail());
            assertTrue((double) quest.kvStats().get("attention_mass_recall") < 0.5, "quest's pages missed it: " + quest.kvStats());
        }
        assertEquals(1.0, run("facts", "clusterkv", 0).score());
        assertEquals(1.0, run("multiquery", "clusterkv", 0).score());
    }
}
