package clusterkv.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.nio.file.NoSuchFileException;
import java.nio.file.AccessDeniedException;

/** The {@code clusterkv} command line: one subcommand per job. */
@Command(name = "clusterkv", mixinStandardHelpOptions = true, scope = CommandLine.ScopeType.INHERIT, version = "clusterkv 0.1.0",
        description = "Pure-Java LLM inference for long contexts with recallable KV-cache compression (ClusterKV).",
        subcommands = {GenerateCommand.class, ChatCommand.class, InspectCommand.class, TokenizeCommand.class,
                PerplexityCommand.class, SynthCommand.class, BenchCommand.class, EvalCommand.class, ReportCommand.class,
                ServeCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String[] args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            boolean verbose = false;
            for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) verbose |= p.hasMatchedOption("--verbose");
            if (verbose) e.printStackTrace();
            cmd.getErr().println("error: " + describe(e));
            cmd.getErr().flush();
            return 1;
        });
        cli.setErr(new PrintWriter(System.err, true));
        return cli.execute(args);
    }

    /** One line that says what went wrong, without a stack trace. */
    static String describe(Throwable e) {
        if (e instanceof NoSuchFileException f) return "no such file: " + f.getFile();
        if (e instanceof AccessDeniedException f) return "permission denied: " + f.getFile();
        if (e instanceof OutOfMemoryError) return "out of memory: lower the context size (-c) or raise -Xmx";
        String m = e.getMessage();
        if (m == null || m.isBlank()) m = e.getClass().getSimpleName();
        if (e.getCause() != null && e.getCause() != e && e instanceof RuntimeException && m.equals(e.getCause().toString())) {
            return describe(e.getCause());
        }
        return m.replace('\n', ' ');
    }
}
