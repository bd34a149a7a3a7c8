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
