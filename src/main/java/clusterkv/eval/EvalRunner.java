package clusterkv.eval;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs the pending cases of a grid one after another, appending each finished case to the results log at
 * once (so that an interrupted run resumes where it stopped), and reports progress with an estimated time left.
 */
public final class EvalRunner {

    /** Progress: cases weigh their context length, the cost that dominates. */
    public interface Listener {
        void caseStarted(EvalCase c, int index, int total);

        void caseFinished(EvalResult r, long doneWeight, long totalWeight, double secondsLeft);
    }

    private EvalRunner() {}

    public static void run(EvalContext context, List<EvalCase> pending, ResultsLog log, String model, Listener listener) {
        Map<String, EvalTask> tasks = new HashMap<>();
        long total = pending.stream().mapToLong(EvalCase::context).sum(), done = 0;
        long start = System.nanoTime();
        for (int i = 0; i < pending.size(); i++) {
            EvalCase c = pending.get(i);
            listener.caseStarted(c, i, pending.size());
            EvalTask task = tasks.computeIfAbsent(c.task(), EvalTasks::create);
            long t0 = System.nanoTime();
            EvalTask.Outcome o = task.run(context, c);
            double seconds = (System.nanoTime() - t0) / 1e9;
            EvalResult r = new EvalResult(c, o.score(), o.n(), o.nll(), o.kvStats(), seconds, model, o.detail());
            log.append(r);
            done += c.context();
            double elapsed = (System.nanoTime() - start) / 1e9;
            listener.caseFinished(r, done, total, elapsed / done * (total - done));
        }
    }
}
