package clusterkv.eval;

import java.util.ArrayList;
import java.util.List;

/**
 * The grid of an evaluation run: every task × context × depth (for tasks with one) × sample × policy ×
 * budget. Full attention runs once per prompt, with budget 0, as the reference.
 */
public record EvalGrid(List<String> tasks, List<String> policies, List<Integer> budgets, List<Integer> contexts,
                       List<Double> depths, int samples) {

    public EvalGrid {
        if (samples < 1) throw new IllegalArgumentException("--samples must be >= 1, got " + samples);
        for (int b : budgets) if (b < 1) throw new IllegalArgumentException("--kv-budget values must be >= 1, got " + b);
        for (int c : contexts) if (c < 1) throw new IllegalArgumentException("--context values must be >= 1, got " + c);
        for (double d : depths) if (!(d >= 0 && d <= 1)) throw new IllegalArgumentException("--depths values must be in [0, 1], got " + d);
        for (String t : tasks) EvalTasks.create(t); // validates the names
    }

    public List<EvalCase> cases() {
        List<EvalCase> out = new ArrayList<>();
        for (String task : tasks) {
            List<Double> taskDepths = EvalTasks.create(task).usesDepth() ? depths : java.util.Collections.singletonList(null);
            for (int context : contexts) {
                for (Double depth : taskDepths) {
                    for (int sample = 0; sample < samples; sample++) {
                        for (String policy : policies) {
                            if (EvalCase.exact(policy)) {
                                out.add(new EvalCase(task, policy, 0, context, depth, sample));
                            } else {
                                for (int budget : budgets) out.add(new EvalCase(task, policy, budget, context, depth, sample));
                            }
                        }
                    }
                }
            }
        }
        return out;
    }

    /** The i-th (1-based) of n interleaved slices: round-robin, so that slices cost about the same. */
    public static List<EvalCase> shard(List<EvalCase> cases, int i, int n) {
        if (n < 1 || i < 1 || i > n) throw new IllegalArgumentException("--shard must be i/n with 1 <= i <= n, got " + i + "/" + n);
        List<EvalCase> out = new ArrayList<>();
        for (int k = i - 1; k < cases.size(); k += n) out.add(cases.get(k));
        return out;
    }
}
