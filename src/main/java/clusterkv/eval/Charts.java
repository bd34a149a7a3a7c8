package clusterkv.eval;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The PNG charts of a report: score versus budget, needle heatmaps, fidelity versus budget, latency versus context. */
final class Charts {

    static {
        System.setProperty("java.awt.headless", "true");
    }

    /** One colour per policy in every chart. */
    private static final Map<String, Color> COLOURS = Map.of("full", Color.BLACK, "clusterkv", new Color(0x1F77B4),
            "quest", new Color(0xFF7F0E), "streaming", new Color(0x2CA02C), "h2o", new Color(0x9467BD), "snapkv", new Color(0xD62728));

    private Charts() {}

    private static void colour(CategorySeries s, String policy) {
        Color c = COLOURS.get(EvalCase.policyOf(policy));
        if (c != null) {
            s.setLineColor(c);
            s.setMarkerColor(c);
        }
    }

    /** Writes every chart the results support into {@code dir}; returns the file names written. */
    static List<String> writeAll(Summary summary, List<Latency> latency, Path dir) throws IOException {
        List<String> written = new ArrayList<>();
        List<Cell> pooled = summary.cells(false);
        List<Cell> byDepth = summary.cells(true);
        for (String task : summary.tasks()) {
            for (int context : summary.contexts()) {
                if (!summary.budgets().isEmpty() && hasAny(pooled, task, context)) {
                    written.add(save(scoreVersusBudget(summary, pooled, task, context), dir, "score_" + task + "_ctx" + context));
                }
            }
            List<Double> depths = summary.depths(task);
            if (!depths.isEmpty() && (depths.size() > 1 || summary.contexts().size() > 1)) {
                for (String policy : summary.policies()) {
                    for (int budget : EvalCase.exact(policy) ? List.of(0) : summary.budgets()) {
                        HeatMapChart h = heatmap(summary, byDepth, task, policy, budget);
                        if (h != null) written.add(save(h, dir, "needle_" + task + "_" + policy + (budget > 0 ? "_b" + budget : "")));
                    }
                    if (EvalCase.exact(policy)) continue;
                    for (int context : summary.contexts()) {
                        HeatMapChart h = depthByBudget(summary, byDepth, task, policy, context);
                        if (h != null) written.add(save(h, dir, "needle_" + task + "_" + policy + "_ctx" + context));
                    }
                }
            }
        }
        List<Map<String, Object>> fidelity = summary.fidelity();
        for (Map<String, Object> f : fidelityTasks(fidelity)) {
            String task = (String) f.get("task");
            int context = (int) f.get("context");
            written.add(save(recallVersusBudget(summary, fidelity, task, context), dir, "recall_" + task + "_ctx" + context));
        }
        if (!latency.isEmpty()) written.add(save(latencyVersusContext(latency), dir, "latency_vs_context"));
        written.removeIf(java.util.Objects::isNull);
        return written;
    }

    private static boolean hasAny(List<Cell> cells, String task, int context) {
        return cells.stream().anyMatch(c -> c.task().equals(task) && c.context() == context);
    }

    static CategoryChart scoreVersusBudget(Summary summary, List<Cell> cells, String task, int context) {
        boolean ppl = Summary.isPerplexity(task);
        CategoryChart chart = lines(task + " at context " + context + ": " + (ppl ? "perplexity" : "accuracy") + " vs KV budget",
                "KV budget (tokens attended per step)", ppl ? "perplexity (lower is better)" : "accuracy");
        List<Integer> budgets = summary.budgets();
        for (String policy : summary.policies()) {
            List<String> x = new ArrayList<>();
            List<Double> y = new ArrayList<>();
            for (int b : budgets) {
                Cell c = Summary.find(cells, task, policy, b, context, null);
                x.add(String.valueOf(b));
                y.add(c == null ? null : c.score());
            }
            if (y.stream().allMatch(java.util.Objects::isNull)) continue;
            CategorySeries s = chart.addSeries(policy.equals("full") ? "full (reference)" : policy, x, y);
            colour(s, policy);
            if (EvalCase.exact(policy)) {
                s.setLineStyle(SeriesLines.DASH_DASH);
                s.setMarker(SeriesMarkers.NONE);
            }
        }
        if (!ppl) {
            chart.getStyler().setYAxisMin(0.0);
            chart.getStyler().setYAxisMax(1.0);
        }
        return chart;
    }

    /** Accuracy by context (x) and needle depth (y) for one policy and budget. */
    static HeatMapChart heatmap(Summary summary, List<Cell> cells, String task, String policy, int budget) {
        String title = task + ": " + policy + (budget > 0 ? " at budget " + budget : " attention") + ", accuracy by context and depth";
        return depthHeatmap(title, "context (tokens)", summary.contexts(), summary.depths(task),
                (context, depth) -> Summary.find(cells, task, policy, budget, context, depth));
    }

    /** Accuracy by budget (x) and needle depth (y) for one policy and context: where in the context, and from which budget on, the needle is found. */
    static HeatMapChart depthByBudget(Summary summary, List<Cell> cells, String task, String policy, int context) {
        String title = task + ": " + policy + " at context " + context + ", accuracy by budget and depth";
        return depthHeatmap(title, "KV budget (tokens attended per step)", summary.budgets(), summary.depths(task),
                (budget, depth) -> Summary.find(cells, task, policy, budget, context, depth));
    }

    /** A heatmap of the cells that cell(x, depth) finds (x along the horizontal axis), or null when it finds none. */
    private static HeatMapChart depthHeatmap(String title, String xTitle, List<Integer> x, List<Double> depths,
                                             java.util.function.BiFunction<Integer, Double, Cell> cell) {
        List<Number[]> values = new ArrayList<>();
        for (int i = 0; i < x.size(); i++) {
            for (int j = 0; j < depths.size(); j++) {
                Cell c = cell.apply(x.get(i), depths.get(j));
                if (c != null) values.add(new Number[]{i, j, c.score()});
            }
        }
        if (values.isEmpty()) return null;
        HeatMapChart chart = new HeatMapChartBuilder().width(800).height(500).title(title)
                .xAxisTitle(xTitle).yAxisTitle("needle depth (0 = start)").build();
        chart.getStyler().setShowValue(true);
        chart.getStyler().setMin(0);
        chart.getStyler().setMax(1);
        chart.getStyler().setRangeColors(new Color[]{new Color(0xD7301F), new Color(0xFEE08B), new Color(0x1A9850)});
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.addSeries("accuracy", x, depths.stream().map(d -> String.format("%.2f", d)).toList(), values);
        return chart;
    }

    private static List<Map<String, Object>> fidelityTasks(List<Map<String, Object>> fidelity) {
        Map<String, Map<String, Object>> seen = new LinkedHashMap<>();
        for (Map<String, Object> f : fidelity) {
            if (f.get("topk_recall") == null) continue;
            seen.putIfAbsent(f.get("task") + "@" + f.get("context"), f);
        }
        return new ArrayList<>(seen.values());
    }

    static CategoryChart recallVersusBudget(Summary summary, List<Map<String, Object>> fidelity, String task, int context) {
        CategoryChart chart = lines(task + " at context " + context + ": top-k recall of the selection vs KV budget",
                "KV budget (tokens attended per step)", "recall of the true top-k keys (k = budget)");
        chart.getStyler().setYAxisMin(0.0);
        chart.getStyler().setYAxisMax(1.0);
        Map<String, List<double[]>> series = new LinkedHashMap<>();
        for (Map<String, Object> f : fidelity) {
            if (!f.get("task").equals(task) || (int) f.get("context") != context || !(f.get("topk_recall") instanceof Number r)) continue;
            series.computeIfAbsent((String) f.get("policy"), p -> new ArrayList<>()).add(new double[]{(int) f.get("budget"), r.doubleValue()});
        }
        List<Integer> budgets = summary.budgets();
        series.forEach((policy, points) -> {
            List<Double> y = new ArrayList<>();
            for (int b : budgets) y.add(points.stream().filter(p -> p[0] == b).map(p -> p[1]).findFirst().orElse(null));
            colour(chart.addSeries(policy, budgets.stream().map(String::valueOf).toList(), y), policy);
        });
        return chart;
    }

    static CategoryChart latencyVersusContext(List<Latency> latency) {
        String models = String.join(", ", latency.stream().map(Latency::model).distinct().toList());
        CategoryChart chart = lines("Decode latency vs context: " + models, "context (tokens; KV filled with generated keys)", "ms per decoded token");
        List<Integer> contexts = latency.stream().map(Latency::context).distinct().sorted().toList();
        Map<String, List<Latency>> series = new LinkedHashMap<>();
        boolean budgets = latency.stream().map(Latency::budget).distinct().count() > 1;
        for (Latency l : latency) {
            String name = EvalCase.exact(l.policy()) || !budgets ? l.policy() : l.policy() + " B=" + l.budget();
            series.computeIfAbsent(name, k -> new ArrayList<>()).add(l);
        }
        series.forEach((name, rows) -> {
            List<Double> y = new ArrayList<>();
            for (int c : contexts) y.add(rows.stream().filter(r -> r.context() == c).map(Latency::msPerToken).findFirst().orElse(null));
            colour(chart.addSeries(name, contexts.stream().map(String::valueOf).toList(), y), name.split(" ")[0]);
        });
        return chart;
    }

    /** A line chart over equally spaced categories (budgets and contexts are powers of two). */
    private static CategoryChart lines(String title, String xTitle, String yTitle) {
        CategoryChart chart = new CategoryChartBuilder().width(800).height(500).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        chart.getStyler().setDefaultSeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Line);
        chart.getStyler().setOverlapped(true); // lines over shared x positions, not side by side like bars
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.getStyler().setMarkerSize(7);
        return chart;
    }

    /** Writes the chart (a chart without series, e.g. full attention alone against budgets, is skipped). */
    private static String save(org.knowm.xchart.internal.chartpart.Chart<?, ?> chart, Path dir, String name) throws IOException {
        if (chart.getSeriesMap().isEmpty()) return null;
        BitmapEncoder.saveBitmap(chart, dir.resolve(name).toString(), BitmapEncoder.BitmapFormat.PNG);
        return name + ".png";
    }
}
