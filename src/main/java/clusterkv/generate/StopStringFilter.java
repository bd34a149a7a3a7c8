package clusterkv.generate;

import java.util.List;
import java.util.function.Consumer;

/**
 * Passes generated text through to a consumer while watching for stop strings: text that could
 * still turn into a stop string is held back until it cannot, and nothing from a stop string on
 * is ever emitted.
 */
final class StopStringFilter {

    private final List<String> stops;
    private final Consumer<String> out;
    private final int holdBack;
    private final StringBuilder pending = new StringBuilder();
    private final StringBuilder emitted = new StringBuilder();

    StopStringFilter(List<String> stops, Consumer<String> out) {
        this.stops = stops.stream().filter(s -> !s.isEmpty()).toList();
        this.out = out;
        this.holdBack = this.stops.stream().mapToInt(String::length).max().orElse(1) - 1;
    }

    /** Adds text; returns true when a stop string has appeared (generation should end). */
    boolean accept(String text) {
        pending.append(text);
        int stopAt = -1;
        for (String s : stops) {
            int i = pending.indexOf(s);
            if (i >= 0 && (stopAt < 0 || i < stopAt)) stopAt = i;
        }
        if (stopAt >= 0) {
            emit(stopAt);
            pending.setLength(0);
            return true;
        }
        emit(Math.max(0, pending.length() - holdBack));
        return false;
    }

    /** Emits whatever is held back (generation ended for another reason). */
    void flush() {
        emit(pending.length());
    }

    String emittedText() {
        return emitted.toString();
    }

    private void emit(int count) {
        if (count <= 0) return;
        // never split a surrogate pair across two emissions
        if (count < pending.length() && Character.isHighSurrogate(pending.charAt(count - 1))) count--;
        if (count <= 0) return;
        String s = pending.substring(0, count);
        pending.delete(0, count);
        emitted.append(s);
        out.accept(s);
    }
}
