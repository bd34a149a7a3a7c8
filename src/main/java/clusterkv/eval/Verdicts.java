package clusterkv.eval;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where ClusterKV matches full attention and where it loses, per task, context and budget, and how it ranks
 * among the sparse policies (ties share a rank). "Matches" means: accuracy within max(0.02, 2 standard errors of the two means)
 * of full attention's; perplexity within 1 % of full attention's.
 */
final class Verdicts {

    static final String SUBJECT = "clusterkv";

    private Verdicts() {}

    static List<Map<String, Object>> of(Summary summary) {
        List<Cell> cells = summary.cells(false);
        List<Map<String, Object>> out = new ArrayList<>();
        for (String task : summary.tasks()) {
            boolean ppl = Summary.isPerplexity(task);
            for (int context : summary.contexts()) {
                for (int budget : summary.budgets()) {
                    Cell mine = Summary.find(cells, task, SUBJECT, budget, context, null);
                    if (mine == null) continue;
                    Cell full = Summary.find(cells, task, "full", budget, context, null);
                    List<Cell> sparse = new ArrayList<>();
                    for (String p : summary.policies()) {
                        Cell c = p.equals("full") ? null : Summary.find(cells, task, p, budget, context, null);
                        if (c != null) sparse.add(c);
                    }
                    Comparator<Cell> best = Comparator.comparingDouble(c -> ppl ? c.score() : -c.score());
                    sparse.sort(best);
                    Map<String, Object> v = new LinkedHashMap<>();
                    v.put("task", task);
                    v.put("context", context);
                    v.put("budget", budget);
                    v.put("clusterkv", mine.score());
                    v.put("full", full == null ? null : full.score());
                    v.put("matches_full", full == null ? null : matches(mine, full, ppl));
                    v.put("rank", 1 + sparse.stream().filter(c -> ppl ? c.score() < mine.score() : c.score() > mine.score()).count());
                    v.put("of", sparse.size());
                    Cell quest = Summary.find(cells, task, "quest", budget, context, null);
                    v.put("quest", quest == null ? null : quest.score());
                    Cell bestOther = sparse.stream().filter(c -> c != mine).findFirst().orElse(null);
                    v.put("best_other", bestOther == null ? null : bestOther.policy());
                    v.put("best_other_score", bestOther == null ? null : bestOther.score());
                    out.add(v);
                }
            }
        }
        return out;
    }

    static boolean matches(Cell policy, Cell full, boolean perplexity) {
        if (perplexity) return policy.score() <= full.score() * 1.01;
        double se = Math.sqrt(policy.stdError() * policy.stdError() + full.stdError() * full.stdError());
        return policy.score() >= full.score() - Math.max(0.02, 2 * se);
    }
}
