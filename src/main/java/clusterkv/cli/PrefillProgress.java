package clusterkv.cli;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.util.function.IntConsumer;

/** A progress bar on stderr while a long prompt is prefilled (nothing for prompts of one chunk). */
final class PrefillProgress implements IntConsumer, AutoCloseable {

    private static final int MIN_TOKENS = 512;
    private ProgressBar bar;

    static PrefillProgress start(int promptTokens) {
        PrefillProgress p = new PrefillProgress();
        if (promptTokens >= MIN_TOKENS && System.console() != null) { // no bar in logs and pipes
            p.bar = new ProgressBarBuilder().setTaskName("prefill").setInitialMax(promptTokens)
                    .setStyle(ProgressBarStyle.ASCII).setUnit(" tok", 1).showSpeed().setConsumer(
                            new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err)).build();
        }
        return p;
    }

    @Override
    public void accept(int done) {
        if (bar != null) bar.stepTo(done);
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}
