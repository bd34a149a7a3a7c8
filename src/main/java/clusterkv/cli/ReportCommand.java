package clusterkv.cli;

import clusterkv.eval.Report;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** Re-renders summary.md, summary.json and the charts of a results folder from its results.jsonl and bench*.json. */
@Command(name = "report", description = "Re-render the tables and plots of an eval results folder.")
final class ReportCommand implements Callable<Integer> {

    @Parameters(paramLabel = "DIR", description = "Results folder (holds results.jsonl, and bench*.json for the latency plot).")
    Path dir;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        List<String> files = Report.render(dir);
        System.err.println("wrote " + String.join(", ", files) + " in " + dir);
        return 0;
    }
}
