package clusterkv.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.nio.file.NoSuchFileException;
import java.nio.file.AccessDeniedException;
import java.util.ArrayList;
import java.util.List;

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
        cli.setExecutionStrategy(parsed -> {
            validate(parsed);
            return new CommandLine.RunLast().execute(parsed);
        });
        cli.setParameterExceptionHandler(Main::usageError);
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            boolean verbose = false;
            for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) verbose |= p.hasMatchedOption("--verbose");
            if (verbose) e.printStackTrace();
            cmd.getErr().println("error: " + describe(e));
            cmd.getErr().flush();
            return 1;
        });
        cli.setErr(new PrintWriter(System.err, true));
        try {
            return cli.execute(args);
        } catch (OutOfMemoryError | StackOverflowError e) { // picocli passes Errors through
            cli.getErr().println("error: " + describe(e));
            cli.getErr().flush();
            return 1;
        }
    }

    /**
     * Checks the options of every command and option group on the command line before any of them runs (see
     * {@link Validated}); a bad value is a usage error, like an unknown option.
     */
    private static void validate(CommandLine.ParseResult parsed) {
        for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.isUsageHelpRequested() || p.isVersionHelpRequested()) return;
        }
        for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
            CommandLine.Model.CommandSpec spec = p.commandSpec();
            List<Object> groups = new ArrayList<>();
            groups.add(spec.userObject());
            spec.mixins().values().forEach(m -> groups.add(m.userObject()));
            for (Object g : groups) {
                if (!(g instanceof Validated v)) continue;
                try {
                    v.validate();
                } catch (IllegalArgumentException e) {
                    throw new BadValue(spec.commandLine(), message(e), e);
                }
            }
        }
    }

    /** An option's value out of its range; the message names the option and the range, so no hint follows. */
    private static final class BadValue extends CommandLine.ParameterException {
        BadValue(CommandLine cmd, String message, Throwable cause) {
            super(cmd, message, cause);
        }
    }

    /** One line saying what is wrong and one pointing to the help, instead of the whole usage text. */
    private static int usageError(CommandLine.ParameterException e, String[] args) {
        CommandLine cmd = e.getCommandLine();
        PrintWriter err = cmd.getErr();
        err.println("error: " + describe(e));
        if (!(e instanceof BadValue)) err.println("try '" + cmd.getCommandSpec().qualifiedName() + " --help'");
        err.flush();
        return cmd.getCommandSpec().exitCodeOnInvalidInput();
    }

    /** One line that says what went wrong, without a stack trace; control characters (from files, clients) escaped. */
    static String describe(Throwable e) {
        return Printable.escape(message(e).strip().replace("\r\n", " ").replace('\n', ' '));
    }

    private static String message(Throwable e) {
        if (e instanceof java.io.UncheckedIOException u && u.getCause() != null) return message(u.getCause());
        if (e instanceof NoSuchFileException f) return "no such file: " + f.getFile();
        if (e instanceof AccessDeniedException f) return "permission denied: " + f.getFile();
        if (e instanceof OutOfMemoryError) return "out of memory: lower the context size (-c) or raise -Xmx";
        if (e instanceof StackOverflowError) return "stack overflow (nesting too deep): raise -Xss";
        String m = e.getMessage();
        if (m == null || m.isBlank()) m = e.getClass().getSimpleName();
        if (e.getCause() != null && e.getCause() != e && e instanceof RuntimeException && m.equals(e.getCause().toString())) {
            return message(e.getCause());
        }
        return m;
    }
}
