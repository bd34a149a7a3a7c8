package clusterkv.cli;

/**
 * A command or option group that checks its options after parsing and before the command runs, so that a bad
 * value fails in a moment with the option's name, not minutes later (after a model load) or never (NaN results).
 * {@link Main} calls it on every command and mixin of the command line; failures are usage errors (exit 2).
 */
interface Validated {

    /** Throws IllegalArgumentException naming the option and its allowed range. */
    void validate();

    /** Fails with "OPTION must be ALLOWED, got VALUE" unless ok; NaN fails every comparison, so write ranges as ok-conditions. */
    static void check(boolean ok, String option, String allowed, Object value) {
        if (!ok) throw new IllegalArgumentException(option + " must be " + allowed + ", got " + value);
    }

    /** The value parsed from an option, its failure prefixed with the option's name (the parsers know only the value). */
    static <T> T parse(String option, java.util.function.Supplier<T> parser) {
        try {
            return parser.get();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage(), e);
        }
    }

    /** --threads: more threads than cores only adds switching (10,000 of them hang the machine). */
    static void checkThreads(Integer threads) {
        if (threads == null) return;
        int cores = Runtime.getRuntime().availableProcessors();
        check(threads >= 1 && threads <= cores, "--threads", "between 1 and the machine's " + cores + " cores", threads);
    }
}
