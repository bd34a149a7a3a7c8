package clusterkv.tensor;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ParallelTest {

    @AfterAll
    static void restoreThreads() {
        Parallel.setThreads(Runtime.getRuntime().availableProcessors());
    }

    @Test
    void backgroundTasksRunTheirParallelCallsInline() throws Exception {
        Parallel.setThreads(2);
        java.util.Set<String> threads = java.util.concurrent.ConcurrentHashMap.newKeySet();
        AtomicInteger sum = new AtomicInteger();
        java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
        Parallel.Deferred d = Parallel.background(() -> {
            started.countDown();
            Parallel.forRange(1000, 10, (s, e) -> {
                threads.add(Thread.currentThread().getName());
                sum.addAndGet(e - s);
            });
        });
        // joined before the background thread took it, the caller would run it (with the compute threads)
        assertTrue(started.await(10, java.util.concurrent.TimeUnit.SECONDS));
        d.join();
        assertEquals(java.util.Set.of("clusterkv-background"), threads);
        assertEquals(1000, sum.get());
        assertEquals(1, threads.size(), "one thread ran every range: " + threads);
    }

    @Test
    void joinRunsATaskNotYetStartedOnTheCallerAndRethrows() throws Exception {
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        Parallel.Deferred blocker = Parallel.background(() -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        String[] ranOn = new String[1];
        Parallel.Deferred queued = Parallel.background(() -> ranOn[0] = Thread.currentThread().getName());
        queued.join(); // the background thread is busy: the caller runs it
        assertEquals(Thread.currentThread().getName(), ranOn[0]);
        Parallel.Deferred failing = Parallel.background(() -> {
            throw new IllegalStateException("boom");
        });
        release.countDown();
        blocker.join();
        IllegalStateException e = assertThrows(IllegalStateException.class, failing::join);
        assertEquals("boom", e.getMessage());
    }

    @Test
    void forEachVisitsEveryIndexOnce() {
        for (int threads = 1; threads <= 3; threads++) {
            Parallel.setThreads(threads);
            assertEquals(threads, Parallel.threads());
            for (int n : new int[] {0, 1, 2, 17, 1000}) {
                for (int rep = 0; rep < 20; rep++) {
                    AtomicIntegerArray seen = new AtomicIntegerArray(n);
                    Parallel.forEach(n, seen::incrementAndGet);
                    for (int i = 0; i < n; i++) assertEquals(1, seen.get(i), "index " + i + " of " + n + ", threads " + threads);
                }
            }
        }
    }

    @Test
    void forRangeCoversWithDisjointRanges() {
        Parallel.setThreads(2);
        for (int grain : new int[] {1, 3, 16, 100}) {
            int n = 257;
            AtomicIntegerArray seen = new AtomicIntegerArray(n);
            AtomicInteger ranges = new AtomicInteger();
            Parallel.forRange(n, grain, (start, end) -> {
                assertTrue(end - start >= 1 && end - start <= grain && start % grain == 0);
                ranges.incrementAndGet();
                for (int i = start; i < end; i++) seen.incrementAndGet(i);
            });
            for (int i = 0; i < n; i++) assertEquals(1, seen.get(i));
            assertEquals((n + grain - 1) / grain, ranges.get());
        }
    }

    /**
     * Guided ranges: every index once; each range starts at a multiple of the granule and is at least minGrain
     * long (but for the last, which ends at n); ranges never grow as the work runs out, and the first takes
     * 1/(2 threads) of the whole (rounded up to the granule).
     */
    @Test
    void forRangeGuidedCoversWithShrinkingRanges() {
        for (int threads = 1; threads <= 3; threads++) {
            Parallel.setThreads(threads);
            for (int[] c : new int[][] {{0, 2, 2}, {1, 1, 1}, {7, 2, 4}, {257, 1, 1}, {1000, 32, 64}, {100000, 32, 256}, {100001, 16, 40}}) {
                int n = c[0], granule = c[1], minGrain = c[2];
                for (int rep = 0; rep < 5; rep++) {
                    AtomicIntegerArray seen = new AtomicIntegerArray(n);
                    java.util.concurrent.ConcurrentSkipListMap<Integer, Integer> ranges = new java.util.concurrent.ConcurrentSkipListMap<>();
                    Parallel.forRangeGuided(n, granule, minGrain, (start, end) -> {
                        ranges.put(start, end);
                        for (int i = start; i < end; i++) seen.incrementAndGet(i);
                    });
                    String at = "n " + n + ", granule " + granule + ", min " + minGrain + ", threads " + threads;
                    for (int i = 0; i < n; i++) assertEquals(1, seen.get(i), "index " + i + ", " + at);
                    int previous = Integer.MAX_VALUE, min = (minGrain + granule - 1) / granule * granule;
                    for (var r : ranges.entrySet()) {
                        int length = r.getValue() - r.getKey();
                        assertEquals(0, r.getKey() % granule, "range start " + r.getKey() + ", " + at);
                        if (r.getValue() < n) {
                            assertTrue(length >= min && length % granule == 0, "range " + r + ", " + at);
                            assertTrue(length <= previous, "ranges grew: " + r + ", " + at);
                        }
                        previous = length;
                    }
                    if (n > min && threads > 1) {
                        int share = (n + 2 * threads - 1) / (2 * threads), first = Math.max(min, (share + granule - 1) / granule * granule);
                        assertEquals(Math.min(n, first), ranges.firstEntry().getValue(), "first range, " + at);
                    }
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> Parallel.forRangeGuided(10, 4, 2, (s, e) -> {}));
    }

    @Test
    void exceptionsReachTheCallerAndThePoolStaysUsable() {
        Parallel.setThreads(2);
        IllegalStateException boom = new IllegalStateException("boom");
        IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> Parallel.forEach(100, i -> {
            if (i == 57) throw boom;
        }));
        assertSame(boom, thrown);
        AtomicInteger count = new AtomicInteger();
        Parallel.forEach(100, i -> count.incrementAndGet());
        assertEquals(100, count.get());
    }

    @Test
    void nestedAndConcurrentCallsComplete() throws Exception {
        Parallel.setThreads(2);
        AtomicInteger count = new AtomicInteger();
        Parallel.forEach(8, i -> Parallel.forEach(8, j -> count.incrementAndGet()));
        assertEquals(64, count.get());

        AtomicInteger total = new AtomicInteger();
        Thread[] callers = new Thread[3];
        for (int c = 0; c < callers.length; c++) {
            callers[c] = Thread.ofPlatform().start(() -> {
                for (int rep = 0; rep < 200; rep++) Parallel.forEach(10, i -> total.incrementAndGet());
            });
        }
        for (Thread t : callers) t.join();
        assertEquals(3 * 200 * 10, total.get());
    }
}
