package clusterkv.server;

import clusterkv.generate.Generation;
import clusterkv.generate.Session;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * One accepted completion request inside the {@link Scheduler}. Its HTTP handler waits for {@link Event}s
 * and may cancel it (the client went away); everything else is touched by the scheduler thread only.
 */
final class Job {

    final CompletionRequest request;
    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private volatile boolean cancelled;

    // scheduler thread only
    Session session;
    /** Prompt tokens already in the session (reused or prefilled). */
    int fed;
    /** Prompt tokens reused from the prompt cache. */
    int cached;
    /** Null while the prompt is being prefilled. */
    Generation generation;

    Job(CompletionRequest request) {
        this.request = request;
    }

    /** Stops the job at its next step; its session goes back to the prompt cache. */
    void cancel() {
        cancelled = true;
    }

    boolean cancelled() {
        return cancelled;
    }

    boolean prefilling() {
        return generation == null;
    }

    void emit(Event e) {
        events.add(e);
    }

    /** The next event; blocks until there is one. */
    Event next() throws InterruptedException {
        return events.take();
    }

    /** The next event, or null when none came within the time. */
    Event next(long millis) throws InterruptedException {
        return events.poll(millis, java.util.concurrent.TimeUnit.MILLISECONDS);
    }
}
