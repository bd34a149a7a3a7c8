package clusterkv.tensor;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * The compute threads of the engine (default: all cores), shared by every kernel.
 *
 * <p>Decode runs several matvecs per layer, each only tens to hundreds of microseconds long, so the
 * cost of handing work to the threads matters. Instead of a ForkJoin pool (task objects, work stealing,
 * a park/unpark per task) the calling thread works as one of the compute threads and the others spin on
 * the current-job field for a while after each job, so that back-to-back jobs start without a wake-up
 * (about 0.5 us per job against 10+ us for a ForkJoin parallel stream); they park when idle for longer.
 * Ranges are handed out through one atomic counter, so a slow thread (another process on its core) only
 * takes fewer of them. A call made from inside a job, or while another thread's job runs, runs inline on
 * the calling thread.
 */
public final class Parallel {

    /** Processes indices [start, end) of a job. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int start, int end);
    }

    private static volatile Pool pool = new Pool(Runtime.getRuntime().availableProcessors());

    private Parallel() {}

    public static void setThreads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        Pool old = pool;
        pool = new Pool(threads);
        old.shutdown();
    }

    public static int threads() {
        return pool.threads;
    }

    /** Runs body(i) for i in [0, n), spread over the compute threads. */
    public static void forEach(int n, IntConsumer body) {
        forRange(n, 1, (start, end) -> {
            for (int i = start; i < end; i++) body.accept(i);
        });
    }

    /**
     * Runs body over [0, n) cut into ranges of {@code grain} indices (the last one shorter), spread over the
     * compute threads; each range goes to one thread.
     */
    public static void forRange(int n, int grain, RangeBody body) {
        if (grain < 1) throw new IllegalArgumentException("grain must be >= 1, got " + grain);
        if (n <= 0) return;
        pool.run(new Job(body, n, grain, 0));
    }

    /**
     * Runs body over [0, n) in ranges that shrink as the work runs out ("guided" scheduling): each range takes
     * 1/(2 x threads) of what is left, in multiples of {@code granule}, at least {@code minGrain} indices. Long
     * ranges first keep the prefetchers streaming; short ones at the end let the threads finish together.
     */
    public static void forRangeGuided(int n, int granule, int minGrain, RangeBody body) {
        if (granule < 1 || minGrain < granule) throw new IllegalArgumentException("need 1 <= granule <= minGrain, got " + granule + ", " + minGrain);
        if (n <= 0) return;
        pool.run(new Job(body, n, (minGrain + granule - 1) / granule * granule, granule));
    }

    /**
     * Runs {@code task} on the background thread, beside whatever the compute threads do (indexing a layer's
     * keys while the next layer computes). Parallel calls made by the task there run inline: the compute
     * threads stay with their caller. {@link Deferred#join} runs the task on the joining thread, with the
     * compute threads, if the background thread has not started it yet.
     */
    public static Deferred background(Runnable task) {
        Deferred d = new Deferred(task);
        BACKGROUND.execute(d.task);
        return d;
    }

    /** A task handed to {@link #background}. */
    public static final class Deferred {
        private final FutureTask<Void> task;

        private Deferred(Runnable body) {
            this.task = new FutureTask<>(body, null);
        }

        /** Waits for the task (running it here if it has not started) and rethrows what it threw. */
        public void join() {
            task.run(); // a no-op once the background thread has started or finished it
            try {
                task.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for a background task", e);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException r) throw r;
                if (e.getCause() instanceof Error err) throw err;
                throw new IllegalStateException(e.getCause());
            }
        }
    }

    /** Its threads' Parallel calls run inline (see {@link Pool#run}). */
    private static final class BackgroundThread extends Thread {
        BackgroundThread(Runnable r) {
            super(r, "clusterkv-background");
            setDaemon(true);
        }
    }

    private static final ExecutorService BACKGROUND = Executors.newSingleThreadExecutor(BackgroundThread::new);

    private static final class Pool {
        /** How long an idle worker spins before parking: longer than the gaps between the matvecs of a layer. */
        private static final long SPIN_NANOS = 500_000;

        final int threads;
        private final Worker[] workers;
        /** One job at a time; callers that find it busy (or that are workers themselves) run their job inline. */
        private final ReentrantLock dispatch = new ReentrantLock();
        /** The latest job; workers watch this field for a new one. */
        private volatile Job job;
        private volatile boolean shutdown;

        Pool(int threads) {
            this.threads = threads;
            this.workers = new Worker[threads - 1];
            for (int i = 0; i < workers.length; i++) {
                workers[i] = new Worker(i + 1);
                workers[i].start();
            }
        }

        void run(Job j) {
            Thread caller = Thread.currentThread();
            if (j.n <= j.grain || workers.length == 0 || caller instanceof Worker || caller instanceof BackgroundThread || !dispatch.tryLock()) {
                if (j.granule > 0) j.guide = 1; // guided, alone: few, long ranges
                j.work();
                rethrow(j.failure);
                return;
            }
            try {
                if (j.granule > 0) j.guide = threads;
                job = j;
                for (Worker w : workers) {
                    if (w.parked) LockSupport.unpark(w);
                }
                j.work();
                // Completion is counted in indices, not in workers: a worker that comes late finds nothing left.
                while (j.done.get() != j.n) Thread.onSpinWait();
                rethrow(j.failure);
            } finally {
                dispatch.unlock();
            }
        }

        private static void rethrow(Throwable t) {
            if (t instanceof RuntimeException e) throw e;
            if (t instanceof Error e) throw e;
            if (t != null) throw new RuntimeException(t);
        }

        void shutdown() {
            shutdown = true;
            for (Worker w : workers) LockSupport.unpark(w);
        }

        private final class Worker extends Thread {
            volatile boolean parked;

            Worker(int index) {
                super("clusterkv-compute-" + index);
                setDaemon(true);
            }

            @Override
            public void run() {
                Job seen = job;
                while (true) {
                    long spinUntil = System.nanoTime() + SPIN_NANOS;
                    int polls = 0;
                    while (job == seen && !shutdown) {
                        Thread.onSpinWait();
                        if ((++polls & 255) == 0 && System.nanoTime() > spinUntil) {
                            // Publish 'parked' before re-reading job; the dispatcher writes job before reading
                            // 'parked', so one of the two sees the other and no wake-up is lost.
                            parked = true;
                            if (job == seen && !shutdown) LockSupport.park(this);
                            parked = false;
                        }
                    }
                    if (shutdown) return;
                    seen = job;
                    seen.work();
                }
            }
        }
    }

    /**
     * One call of forRange (ranges of {@code grain} indices, handed out in order) or of forRangeGuided (ranges of
     * what is left / (2 x guide threads), in multiples of {@code granule}, at least {@code grain}).
     */
    private static final class Job {
        final RangeBody body;
        final int n, grain, granule;
        /** Guided: the threads that share the job (set by the pool when it starts the job); 0 for fixed ranges. */
        int guide;
        /** The first index not yet handed out. */
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable failure;

        Job(RangeBody body, int n, int grain, int granule) {
            this.body = body;
            this.n = n;
            this.grain = grain;
            this.granule = granule;
        }

        void work() {
            int finished = 0;
            for (int start; (start = next.get()) < n; ) {
                int end = Math.min(n, start + length(n - start));
                if (!next.compareAndSet(start, end)) continue;
                try {
                    if (failure == null) body.run(start, end);
                } catch (Throwable t) {
                    failure = t;
                }
                finished += end - start;
            }
            if (finished > 0) done.addAndGet(finished);
        }

        private int length(int left) {
            if (guide == 0) return grain;
            int share = (left + 2 * guide - 1) / (2 * guide);
            return Math.max(grain, (share + granule - 1) / granule * granule);
        }
    }
}
