package clusterkv.server;

import clusterkv.generate.BatchDecoder;
import clusterkv.generate.Generation;
import clusterkv.generate.LanguageModel;
import clusterkv.generate.Session;
import clusterkv.generate.SessionFileException;
import clusterkv.generate.SessionOptions;
import clusterkv.kv.KVCacheAllocationException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The one thread that runs the model. The forward pass uses the engine's global worker pool and must not be
 * entered from two threads at once, so every request's compute happens here, interleaved: up to
 * {@code parallel} jobs are active, and each round prefills one chunk of one waiting prompt (taking turns,
 * so a long prompt delays the others' tokens by one chunk per round, never by its whole length) and then
 * decodes one token for every job past its prompt, all in one batched forward pass ({@link BatchDecoder}): the
 * weights are read once per round, not once per job. Up to {@code queue} further jobs wait; past that, submit refuses.
 * Finished and cancelled jobs hand their session to the {@link PromptCache}.
 */
final class Scheduler implements AutoCloseable {

    private final LanguageModel lm;
    private final PromptCache cache;
    private final Metrics metrics;
    private final int parallel;
    private final int capacity;
    private final BlockingQueue<Job> waiting = new LinkedBlockingQueue<>();
    /** Accepted and not yet finished: waiting plus active. */
    private final AtomicInteger inFlight = new AtomicInteger();
    private final Thread thread;
    private volatile boolean closing;
    // scheduler thread only
    private final List<Job> active = new ArrayList<>();
    /** Per slot (llama-server's id_slot): the session the last request naming it left, with its options; null when empty. */
    private final Session[] slotSessions;
    private final SessionOptions[] slotOptions;
    /** Per slot: requests naming it that are running now (its session is theirs until they end). */
    private final int[] slotBusy;
    /** Slot saves, restores and erases, run between rounds on this thread (only it may touch sessions). */
    private final BlockingQueue<Runnable> tasks = new LinkedBlockingQueue<>();
    private final BatchDecoder decoder;
    private int prefillTurn;

    Scheduler(LanguageModel lm, int parallel, int queue, PromptCache cache, Metrics metrics) {
        this.lm = lm;
        this.cache = cache;
        this.metrics = metrics;
        this.parallel = parallel;
        this.capacity = parallel + queue;
        this.decoder = new BatchDecoder(lm, parallel);
        this.slotSessions = new Session[parallel];
        this.slotBusy = new int[parallel];
        this.slotOptions = new SessionOptions[parallel];
        this.thread = new Thread(this::run, "clusterkv-scheduler");
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Accepts the job unless every slot and queue place is taken (then returns false: answer 429). */
    boolean submit(Job job) {
        if (closing) throw ApiError.unavailable("the server is shutting down");
        for (int n = inFlight.get(); ; n = inFlight.get()) {
            if (n >= capacity) return false;
            if (inFlight.compareAndSet(n, n + 1)) break;
        }
        waiting.add(job);
        return true;
    }

    private void run() {
        while (!closing) {
            try {
                for (Runnable task; (task = tasks.poll()) != null; ) task.run();
                admit();
                if (active.isEmpty()) {
                    Job next = waiting.poll(100, TimeUnit.MILLISECONDS);
                    if (next != null) start(next);
                } else {
                    round();
                }
                publish();
            } catch (InterruptedException e) {
                break;
            } catch (Throwable t) { // a bug in the loop itself: keep serving
                System.err.println("scheduler: " + t);
            }
        }
        shutDown();
    }

    private void admit() {
        while (active.size() < parallel) {
            Job next = waiting.poll();
            if (next == null) return;
            start(next);
        }
    }

    /** Gives the job a session: the cached one sharing the longest prefix of its prompt, else a new one. */
    private void start(Job job) {
        if (job.cancelled()) { // the client went away while it waited
            inFlight.decrementAndGet();
            return;
        }
        CompletionRequest r = job.request;
        try {
            PromptCache.Hit hit = r.slot() >= 0 ? takeSlot(r) : null;
            if (hit == null) hit = cache.take(r.session(), r.prompt());
            job.session = hit != null ? hit.session() : newSession(r);
            // keep at least one prompt token to feed: generation needs the logits after the whole prompt
            int keep = hit == null ? 0 : Math.min(hit.commonPrefix(), r.prompt().length - 1);
            job.session.truncate(keep);
            job.fed = keep;
            job.cached = keep;
            active.add(job);
            if (r.slot() >= 0) slotBusy[r.slot()]++; // until release, or fail
            metrics.promptTokens.add(r.prompt().length);
            metrics.cachedPromptTokens.add(keep);
        } catch (Throwable t) {
            fail(job, t);
        }
    }

    private Session newSession(CompletionRequest r) {
        try {
            return lm.newSession(r.session());
        } catch (KVCacheAllocationException | OutOfMemoryError e) { // no memory for the KV cache: free the idle ones and retry
            cache.drop();
            return lm.newSession(r.session());
        }
    }

    private void round() {
        for (Job j : List.copyOf(active)) {
            if (j.cancelled()) release(j); // stops within one token of the client going away
        }
        Job p = nextPrefilling();
        if (p != null) guarded(p, () -> prefill(p));
        decode(active.stream().filter(j -> !j.prefilling()).toList());
    }

    /** The prefilling jobs take turns, one chunk per round. */
    private Job nextPrefilling() {
        for (int i = 0; i < active.size(); i++) {
            Job j = active.get((prefillTurn + i) % active.size());
            if (j.prefilling()) {
                prefillTurn = (prefillTurn + i + 1) % active.size();
                return j;
            }
        }
        return null;
    }

    private void prefill(Job job) {
        int[] prompt = job.request.prompt();
        // chunks as Session.append cuts them, so the result matches a single append of the prompt
        int n = Math.min(job.request.session().prefillChunk(), prompt.length - job.fed);
        long t0 = System.nanoTime();
        job.session.append(Arrays.copyOfRange(prompt, job.fed, job.fed + n), null);
        metrics.prefillNanos.add(System.nanoTime() - t0);
        metrics.prefillTokens.add(n);
        job.fed += n;
        if (job.fed == prompt.length) job.generation = job.session.startGeneration(job.request.generation());
    }

    /**
     * One token for each of the jobs: each samples its next token (or ends), then all are fed in one batched
     * forward pass, then each releases its text.
     */
    private void decode(List<Job> jobs) {
        long t0 = System.nanoTime();
        List<Job> feeding = new ArrayList<>(jobs.size());
        int[] tokens = new int[jobs.size()];
        for (Job j : jobs) {
            guarded(j, () -> {
                int next = j.generation.chooseNext();
                if (next < 0) {
                    emit(j, j.generation.released());
                } else {
                    tokens[feeding.size()] = next;
                    feeding.add(j);
                }
            });
        }
        if (feeding.isEmpty()) return;
        try {
            decoder.feed(feeding.stream().map(j -> j.session).toList(), tokens);
        } catch (Throwable t) { // which session failed is unknown, and any may be half-updated
            for (Job j : feeding) fail(j, t);
            return;
        }
        metrics.decodeNanos.add(System.nanoTime() - t0);
        metrics.decodeSteps.increment();
        metrics.decodeTokens.add(feeding.size());
        for (Job j : feeding) guarded(j, () -> emit(j, j.generation.acceptFed()));
    }

    /** Sends the text a step released, and the end when the generation is over. */
    private void emit(Job job, String text) {
        Generation g = job.generation;
        if (!text.isEmpty()) job.emit(new Event.Text(text));
        if (g.finished()) {
            job.emit(new Event.Done(g.stopReason(), g.text(), new Usage(job.request.prompt().length, g.generatedTokens(), job.cached)));
            release(job);
        }
    }

    /** The job is over: its session goes to its slot, or to the prompt cache (its tokens are all fed, so it is a valid prefix). */
    private void release(Job job) {
        active.remove(job);
        inFlight.decrementAndGet();
        int slot = job.request.slot();
        if (slot >= 0) slotBusy[slot]--;
        Session s = job.session;
        job.session = null; // handed over now: a failure below must not close it as the job's
        if (s == null) return;
        try {
            if (slot >= 0) {
                emptySlot(slot);
                slotSessions[slot] = s;
                slotOptions[slot] = job.request.session();
            } else {
                cache.put(job.request.session(), s);
            }
        } catch (RuntimeException e) { // saving a let-go session to --cache-dir failed: the job itself is done
            System.err.println("scheduler: keeping an idle session failed: " + e);
        }
    }

    /** The slot's session, for a request that names the slot and runs with the same options; else it goes to the cache. */
    private PromptCache.Hit takeSlot(CompletionRequest r) {
        Session s = slotSessions[r.slot()];
        if (s == null) return null;
        if (!slotOptions[r.slot()].equals(r.session())) {
            emptySlot(r.slot());
            return null;
        }
        slotSessions[r.slot()] = null;
        return new PromptCache.Hit(s, PromptCache.commonPrefix(s.tokens(), r.prompt()));
    }

    /** What the slot held goes to the prompt cache, as any idle session. */
    private void emptySlot(int slot) {
        if (slotSessions[slot] != null) cache.put(slotOptions[slot], slotSessions[slot]);
        slotSessions[slot] = null;
        slotOptions[slot] = null;
    }

    /** The outcome of a slot action: the tokens it concerned and the bytes it wrote or mapped. */
    record SlotResult(int tokens, long bytes) {}

    /** Saves the slot's session to the file (llama-server's POST /slots/{id}?action=save). */
    CompletableFuture<SlotResult> saveSlot(int slot, Path file) {
        return onSchedulerThread(() -> {
            refuseBusy(slot);
            Session s = slotSessions[slot];
            if (s == null) throw ApiError.badRequest("id_slot", "slot " + slot + " holds no session: a request with \"id_slot\": " + slot + " fills it");
            try {
                s.save(file);
                return new SlotResult(s.length(), Files.size(file));
            } catch (IOException e) {
                throw ApiError.internal("cannot save slot " + slot + ": " + e.getMessage());
            }
        });
    }

    /** Puts the session saved in the file into the slot, with the server's session options. */
    CompletableFuture<SlotResult> restoreSlot(int slot, Path file, SessionOptions options) {
        return onSchedulerThread(() -> {
            refuseBusy(slot);
            Session s;
            try {
                s = lm.openSession(file, options);
            } catch (java.nio.file.NoSuchFileException e) {
                throw ApiError.badRequest("filename", "no saved slot file named " + file.getFileName());
            } catch (IOException | SessionFileException e) {
                throw ApiError.badRequest("filename", e.getMessage());
            }
            emptySlot(slot);
            slotSessions[slot] = s;
            slotOptions[slot] = options;
            try {
                return new SlotResult(s.length(), Files.size(file));
            } catch (IOException e) {
                return new SlotResult(s.length(), 0);
            }
        });
    }

    /** Frees the slot's session. */
    CompletableFuture<SlotResult> eraseSlot(int slot) {
        return onSchedulerThread(() -> {
            refuseBusy(slot);
            int n = slotSessions[slot] == null ? 0 : slotSessions[slot].length();
            if (slotSessions[slot] != null) slotSessions[slot].close();
            slotSessions[slot] = null;
            slotOptions[slot] = null;
            return new SlotResult(n, 0);
        });
    }

    private void refuseBusy(int slot) {
        if (slotBusy[slot] > 0) throw new ApiError(409, "invalid_request_error", "slot " + slot + " is busy with a request: try again when it has finished", "id_slot", "slot_busy");
    }

    private <T> CompletableFuture<T> onSchedulerThread(java.util.function.Supplier<T> work) {
        CompletableFuture<T> f = new CompletableFuture<>();
        if (closing) {
            f.completeExceptionally(ApiError.unavailable("the server is shutting down"));
            return f;
        }
        tasks.add(() -> {
            try {
                f.complete(work.get());
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        return f;
    }

    private void guarded(Job job, Runnable step) {
        try {
            step.run();
        } catch (Throwable t) {
            fail(job, t);
        }
    }

    /** A job that threw: answered 500 (503 for lack of memory); its session, maybe half-updated, is closed, not cached. */
    private void fail(Job job, Throwable t) {
        boolean memory = t instanceof OutOfMemoryError || t instanceof KVCacheAllocationException;
        job.emit(new Event.Failed(memory ? ApiError.unavailable("out of memory for the KV cache: " + t.getMessage())
                : ApiError.internal("generation failed: " + t)));
        if (!memory) System.err.println("scheduler: request failed: " + t);
        if (active.remove(job) && job.request.slot() >= 0) slotBusy[job.request.slot()]--;
        inFlight.decrementAndGet();
        if (job.session != null) job.session.close();
        job.session = null;
    }

    private void publish() {
        long resident = 0, allocated = 0;
        for (Job j : active) {
            resident += j.session.attention().kvBytesResident(j.session.length());
            allocated += PromptCache.allocatedBytes(j.session);
        }
        metrics.publish(new Metrics.Gauges(active.size(), waiting.size(), cache.size(), resident, cache.residentBytes(), allocated, cache.allocatedBytes()));
    }

    /** Fails whatever is left (the grace period is over), frees every session. */
    private void shutDown() {
        ApiError gone = ApiError.unavailable("the server shut down before this request finished");
        for (Job j : active) {
            j.emit(new Event.Failed(gone));
            j.session.close();
        }
        active.clear();
        for (Job j; (j = waiting.poll()) != null; ) j.emit(new Event.Failed(gone));
        for (Runnable task; (task = tasks.poll()) != null; ) task.run();
        for (int slot = 0; slot < slotSessions.length; slot++) emptySlot(slot); // into the cache, and with --cache-dir to disk
        cache.close();
        publish();
    }

    /** Stops after the current round; jobs still running are failed with 503. */
    @Override
    public void close() {
        closing = true;
        try {
            thread.join(60_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
