package clusterkv.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** Renders a results folder: summary.md, summary.json and the PNG charts, from results.jsonl and bench*.json. */
public final class Report {

    private Report() {}

    /** Re-renders everything from the files in {@code dir}; returns the files written. */
    public static List<String> render(Path dir) throws IOException {
        Path file = dir.resolve(ResultsLog.FILE);
        if (!Files.exists(file)) throw new IllegalArgumentException("no " + ResultsLog.FILE + " in " + dir);
        Summary summary = new Summary(ResultsLog.read(file));
        List<Latency> latency = Latency.read(dir);
        List<String> written = new ArrayList<>();
        Files.writeString(dir.resolve("summary.md"), markdown(summary, latency), StandardCharsets.UTF_8);
        written.add("summary.md");
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(dir.resolve("summary.json").toFile(), json(summary, latency));
        written.add("summary.json");
        written.addAll(Charts.writeAll(summary, latency, dir));
        return written;
    }

    static Map<String, Object> json(Summary summary, List<Latency> latency) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("models", summary.results().stream().map(EvalResult::model).distinct().toList());
        m.put("cases", summary.results().size());
        m.put("results", summary.cells(false).stream().map(Report::cellJson).toList());
        m.put("results_by_depth", summary.cells(true).stream().filter(c -> c.depth() != null).map(Report::cellJson).toList());
        m.put("fidelity", summary.fidelity());
        m.put("clusterkv_verdicts", Verdicts.of(summary));
        m.put("latency", latency.stream().map(Report::latencyJson).toList());
        return m;
    }

    /** In a fixed field order, so that re-rendering gives the same file. */
    private static Map<String, Object> latencyJson(Latency l) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", l.model());
        m.put("policy", l.policy());
        m.put("budget", l.budget());
        m.put("context", l.context());
        m.put("decode_tokens_per_s", l.tokensPerSecond());
        m.put("ms_per_token", l.msPerToken());
        return m;
    }

    private static Map<String, Object> cellJson(Cell c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("task", c.task());
        m.put("policy", c.policy());
        m.put("budget", c.budget());
        m.put("context", c.context());
        if (c.depth() != null) m.put("depth", c.depth());
        m.put("score", c.score());
        m.put("n", c.n());
        m.put("std_error", c.stdError());
        return m;
    }

    static String markdown(Summary summary, List<Latency> latency) {
        StringBuilder md = new StringBuilder("# Evaluation results\n\n");
        double seconds = summary.results().stream().mapToDouble(EvalResult::seconds).sum();
        md.append(String.format("Model: %s. %d cases, %.0f s of model time.%n%n", String.join(", ",
                summary.results().stream().map(EvalResult::model).distinct().toList()), summary.results().size(), seconds));
        md.append("Scores: accuracy in [0, 1] (mean over samples, ± its standard error where n > 1), or perplexity for `ppl` "
                + "(lower is better, pooled over all scored tokens). Budgets are tokens attended per query head per step; "
                + "full attention (budget-free) is the reference row.\n\n");
        List<Cell> pooled = summary.cells(false);
        List<Cell> byDepth = summary.cells(true);
        for (String task : summary.tasks()) {
            for (int context : summary.contexts()) {
                if (pooled.stream().noneMatch(c -> c.task().equals(task) && c.context() == context)) continue;
                List<Double> depths = summary.depths(task);
                String label = depths.isEmpty() ? "" : depths.size() > 1 ? ", all depths" : "";
                md.append("## ").append(task).append(", context ").append(context).append(label).append("\n\n");
                scoreTable(md, summary, pooled, task, context, null);
                if (depths.size() > 1) {
                    for (Double d : depths) {
                        md.append(String.format("### %s, context %d, depth %.2f%n%n", task, context, d));
                        scoreTable(md, summary, byDepth, task, context, d);
                    }
                }
            }
        }
        fidelity(md, summary);
        verdicts(md, summary);
        latency(md, latency);
        return md.toString();
    }

    private static void scoreTable(StringBuilder md, Summary summary, List<Cell> cells, String task, int context, Double depth) {
        List<Integer> budgets = summary.budgets();
        header(md, "policy", budgets.isEmpty() ? List.of("score") : budgets.stream().map(String::valueOf).toList());
        for (String policy : summary.policies()) {
            List<String> row = new ArrayList<>();
            if (budgets.isEmpty()) {
                row.add(format(Summary.find(cells, task, policy, 0, context, depth), task));
            } else {
                for (int b : budgets) row.add(format(Summary.find(cells, task, policy, b, context, depth), task));
            }
            if (row.stream().allMatch("-"::equals)) continue;
            row(md, policy.equals("full") ? "full (reference)" : policy, row);
        }
        md.append('\n');
    }

    private static String format(Cell c, String task) {
        if (c == null) return "-";
        String v = String.format("%.3f", c.score());
        if (c.n() > 1 && !Summary.isPerplexity(task)) v += String.format(" ± %.3f", c.stdError());
        return v + (c.n() > 1 ? " (n=" + c.n() + ")" : "");
    }

    private static void fidelity(StringBuilder md, Summary summary) {
        List<Map<String, Object>> f = summary.fidelity();
        if (f.isEmpty()) return;
        md.append("## Fidelity of the selection (layers >= 2, averaged over heads, steps and samples)\n\n");
        md.append("Top-k recall: share of the true top-k keys (k = budget) selected; mass: attention mass captured; "
                + "error: relative L2 error of the attention output; KL: KL(full ‖ policy) of the next-token distribution.\n\n");
        header(md, "task", List.of("context", "policy", "budget", "top-k recall", "mass", "error", "KL", "cache hits"));
        for (Map<String, Object> row : f) {
            row(md, (String) row.get("task"), List.of(String.valueOf(row.get("context")), (String) row.get("policy"),
                    String.valueOf(row.get("budget")), num(row.get("topk_recall")), num(row.get("attention_mass_recall")),
                    num(row.get("output_rel_error")), num(row.get("kl")), num(row.get("cache_hit_rate"))));
        }
        md.append('\n');
    }

    private static void verdicts(StringBuilder md, Summary summary) {
        List<Map<String, Object>> v = Verdicts.of(summary);
        if (v.isEmpty()) return;
        md.append("## ClusterKV against full attention and the other policies\n\n");
        md.append("Matches full: accuracy within max(0.02, 2 standard errors), perplexity within 1 %. "
                + "Rank: among the sparse policies at that budget (1 = best).\n\n");
        header(md, "task", List.of("context", "budget", "full", "clusterkv", "matches full", "rank", "quest", "best other"));
        for (Map<String, Object> r : v) {
            row(md, (String) r.get("task"), List.of(String.valueOf(r.get("context")), String.valueOf(r.get("budget")),
                    num(r.get("full")), num(r.get("clusterkv")), Objects.equals(r.get("matches_full"), Boolean.TRUE) ? "yes" : r.get("matches_full") == null ? "-" : "**no**",
                    r.get("rank") + " of " + r.get("of"), num(r.get("quest")),
                    r.get("best_other") == null ? "-" : r.get("best_other") + " " + num(r.get("best_other_score"))));
        }
        md.append('\n');
    }

    private static void latency(StringBuilder md, List<Latency> latency) {
        if (latency.isEmpty()) return;
        md.append("## Decode latency versus context (bench --sweep-context)\n\n");
        md.append("Model: ").append(String.join(", ", latency.stream().map(Latency::model).distinct().toList()))
                .append("; KV cache filled with generated keys, no prefill.\n\n");
        List<Integer> contexts = latency.stream().map(Latency::context).distinct().sorted().toList();
        header(md, "policy (budget)", contexts.stream().map(c -> c + " ms/tok").toList());
        Map<String, Map<Integer, Latency>> rows = new LinkedHashMap<>();
        for (Latency l : latency) rows.computeIfAbsent(l.policy() + (EvalCase.exact(l.policy()) ? "" : " (" + l.budget() + ")"), k -> new LinkedHashMap<>()).put(l.context(), l);
        rows.forEach((name, byContext) -> row(md, name, contexts.stream()
                .map(c -> byContext.containsKey(c) ? String.format("%.1f", byContext.get(c).msPerToken()) : "-").toList()));
        md.append('\n');
    }

    private static void header(StringBuilder md, String first, List<String> columns) {
        md.append("| ").append(first);
        for (String c : columns) md.append(" | ").append(c);
        md.append(" |\n|---");
        for (int i = 0; i < columns.size(); i++) md.append("|---:");
        md.append("|\n");
    }

    private static void row(StringBuilder md, String first, List<String> cells) {
        md.append("| ").append(first);
        for (String c : cells) md.append(" | ").append(c);
        md.append(" |\n");
    }

    private static String num(Object v) {
        return v instanceof Number n ? String.format("%.3f", n.doubleValue()) : "-";
    }
}
