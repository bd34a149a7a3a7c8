package clusterkv.server;

import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Time limits on reading a request. The JDK's HTTP server reads on the handler's thread from a blocking socket
 * channel and has no per-server read timeout (its sun.net.httpserver properties are JVM-wide, in whole seconds),
 * so a deadline here interrupts the reading thread: a socket channel is interruptible, and a thread interrupted
 * while blocked on it closes it, which drops a client that sends its headers or body too slowly (slowloris).
 */
final class ReadDeadlines implements AutoCloseable {

    private final ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, r -> {
        Thread t = new Thread(r, "clusterkv-read-deadlines");
        t.setDaemon(true);
        return t;
    });

    ReadDeadlines() {
        timer.setRemoveOnCancelPolicy(true); // a deadline met is forgotten at once, not kept until it would fire
    }

    /** Starts a deadline for the current thread's reading. */
    Deadline arm(Duration timeout) {
        Deadline d = new Deadline(Thread.currentThread());
        d.alarm = timer.schedule(d::fire, timeout.toNanos(), TimeUnit.NANOSECONDS);
        return d;
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }

    /** One read that must finish in time. */
    static final class Deadline {
        private final Thread reader;
        private ScheduledFuture<?> alarm;
        private boolean fired, disarmed;

        private Deadline(Thread reader) {
            this.reader = reader;
        }

        private synchronized void fire() {
            if (disarmed) return;
            fired = true;
            reader.interrupt();
        }

        /**
         * Called by the reading thread when its read is over: stops the alarm, and returns false when the time was
         * up (the connection is closed or about to be). Clears an interrupt the alarm may have left, so that it
         * cannot hit a later, unrelated wait.
         */
        synchronized boolean disarm() {
            if (disarmed) return !fired;
            disarmed = true;
            alarm.cancel(false);
            if (fired) Thread.interrupted();
            return !fired;
        }
    }
}
