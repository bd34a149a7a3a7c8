package clusterkv.server;

import clusterkv.generate.StopReason;

/** What the scheduler tells the HTTP handler of a request, in order: text pieces, then one end. */
sealed interface Event {

    /** Text the generation released (UTF-8 safe, stop strings held back). */
    record Text(String text) implements Event {}

    /** Generation ended normally; {@code text} is all of it. */
    record Done(StopReason reason, String text, Usage usage) implements Event {}

    /** The request failed after it was accepted. */
    record Failed(ApiError error) implements Event {}
}
