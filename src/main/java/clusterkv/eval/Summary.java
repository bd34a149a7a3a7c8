package clusterkv.eval;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Collectors;

/** Pools results into grid cells and fidelity averages: the figures behind summary.md, summary.json and the plots. */
public final class Summary {

    /** Fidelity figures averaged as in --kv-stats. */
    static final List<String> FIDELITY = List.of("topk_recall", "attention_mass_recall", "output_rel_error", "kl", "cache_hit_rate");

    private final List<EvalResult> results;

    public Summary(List<EvalResult> results) {
        this.results = List.copyOf(results);
    }

    public List<EvalResult> results() { return results; }

    public List<String> tasks() { return distinct(r -> r.evalCase().task()); }
    public List<Integer> contexts() { return sortedDistinct(r -> r.evalCase().context()); }
    public List<Integer> budgets() { return sortedDistinct(r -> r.evalCase().budget()).stream().filter(b -> b > 0).toList(); }

    /** Policies in the order of {@code KVPolicies.NAMES}, full first. */
    public List<String> policies() {
        List<String> present = distinct(r -> r.evalCase().policy());
        List<String> order = clusterkv.kv.policy.KVPolicies.NAMES;
        return present.stream().sorted(Comparator.comparingInt(p -> order.indexOf(p) < 0 ? order.size() : order.indexOf(p))).toList();
    }

    public List<Double> depths(String task) {
        return results.stream().filter(r -> r.evalCase().task().equals(task) && r.evalCase().depth() != null)
                .map(r -> r.evalCase().depth()).collect(Collectors.toCollection(TreeSet::new)).stream().toList();
    }

    /** Whether the task's score is a perplexity (lower is better) rather than an accuracy. */
    public static boolean isPerplexity(String task) {
        return EvalTasks.NAMES.contains(task) && EvalTasks.create(task).isPerplexity();
    }

    /**
     * Cells pooled over samples; with {@code byDepth} false, also over depths. Keyed by task, policy, budget,
     * context and depth, in grid order.
     */
    public List<Cell> cells(boolean byDepth) {
        Map<List<Object>, List<EvalResult>> groups = new LinkedHashMap<>();
        for (EvalResult r : results) {
            EvalCase c = r.evalCase();
            Double depth = byDepth ? c.depth() : null;
            groups.computeIfAbsent(java.util.Arrays.asList(c.task(), c.policy(), c.budget(), c.context(), depth), k -> new ArrayList<>()).add(r);
        }
        List<Cell> cells = new ArrayList<>();
        groups.forEach((k, rs) -> cells.add(pool((String) k.get(0), (String) k.get(1), (int) k.get(2), (int) k.get(3), (Double) k.get(4), rs)));
        return cells;
    }

    private static Cell pool(String task, String policy, int budget, int context, Double depth, List<EvalResult> rs) {
        int n = rs.size();
        if (isPerplexity(task)) {
            double nll = 0, count = 0;
            for (EvalResult r : rs) {
                double rNll = r.nll() != null ? r.nll() : Math.log(r.score());
                nll += rNll * r.n();
                count += r.n();
            }
            double ppl = Math.exp(nll / count);
            double spread = standardDeviation(rs.stream().mapToDouble(EvalResult::score).toArray());
            return new Cell(task, policy, budget, context, depth, ppl, n, n > 1 ? spread / Math.sqrt(n) : 0);
        }
        double[] scores = rs.stream().mapToDouble(EvalResult::score).toArray();
        double mean = java.util.Arrays.stream(scores).average().orElse(Double.NaN);
        return new Cell(task, policy, budget, context, depth, mean, n, n > 1 ? standardDeviation(scores) / Math.sqrt(n) : 0);
    }

    /** The cell for a policy at a budget; full attention (budget 0) answers for every budget. */
    public static Cell find(List<Cell> cells, String task, String policy, int budget, int context, Double depth) {
        int b = EvalCase.exact(policy) ? 0 : budget;
        for (Cell c : cells) {
            if (c.task().equals(task) && c.policy().equals(policy) && c.budget() == b && c.context() == context
                    && Objects.equals(c.depth(), depth)) return c;
        }
        return null;
    }

    /**
     * Fidelity averages per task, policy, budget and context (over the cases that measured it), with a
     * per-layer array averaged layer by layer.
     */
    @SuppressWarnings("unchecked")
    public List<Map<String, Object>> fidelity() {
        Map<List<Object>, List<Map<String, Object>>> groups = new LinkedHashMap<>();
        for (EvalResult r : results) {
            if (r.kvStats() == null) continue;
            EvalCase c = r.evalCase();
            groups.computeIfAbsent(List.of(c.task(), c.policy(), c.budget(), c.context()), k -> new ArrayList<>()).add(r.kvStats());
        }
        List<Map<String, Object>> out = new ArrayList<>();
        groups.forEach((k, stats) -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("task", k.get(0));
            m.put("policy", k.get(1));
            m.put("budget", k.get(2));
            m.put("context", k.get(3));
            m.put("n", stats.size());
            for (String f : FIDELITY) m.put(f, mean(stats, f));
            Map<Integer, List<Map<String, Object>>> layers = new TreeMap<>();
            for (Map<String, Object> s : stats) {
                Object pl = s.get("per_layer");
                if (pl instanceof List<?> rows) {
                    for (Object row : rows) {
                        Map<String, Object> layer = (Map<String, Object>) row;
                        layers.computeIfAbsent(((Number) layer.get("layer")).intValue(), l -> new ArrayList<>()).add(layer);
                    }
                }
            }
            List<Map<String, Object>> perLayer = new ArrayList<>();
            layers.forEach((layer, rows) -> {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("layer", layer);
                for (String f : List.of("topk_recall", "attention_mass_recall", "output_rel_error", "cache_hit_rate")) row.put(f, mean(rows, f));
                perLayer.add(row);
            });
            m.put("per_layer", perLayer);
            out.add(m);
        });
        return out;
    }

    private static Double mean(List<Map<String, Object>> maps, String field) {
        double sum = 0;
        int n = 0;
        for (Map<String, Object> m : maps) {
            if (m.get(field) instanceof Number v) {
                sum += v.doubleValue();
                n++;
            }
        }
        return n == 0 ? null : sum / n;
    }

    private static double standardDeviation(double[] v) {
        if (v.length < 2) return 0;
        double mean = java.util.Arrays.stream(v).average().orElse(0), ss = 0;
        for (double x : v) ss += (x - mean) * (x - mean);
        return Math.sqrt(ss / (v.length - 1));
    }

    private <T> List<T> distinct(Function<EvalResult, T> f) {
        return results.stream().map(f).distinct().toList();
    }

    private <T extends Comparable<T>> List<T> sortedDistinct(Function<EvalResult, T> f) {
        return results.stream().map(f).collect(Collectors.toCollection(TreeSet::new)).stream().toList();
    }
}
