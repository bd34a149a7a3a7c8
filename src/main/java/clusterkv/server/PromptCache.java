package clusterkv.server;

import clusterkv.generate.Session;
import clusterkv.generate.SessionOptions;

import java.util.ArrayList;
import java.util.List;

/**
 * Idle sessions kept after their requests, so that a later request that starts with the same tokens (the
 * next turn of a chat, a shared system prompt) reuses their KV cache instead of prefilling it again.
 * Bounded by the KV memory the sessions hold (a session allocates its whole context up front, so that is
 * what counts); the least recently used are closed first, which frees their off-heap memory.
 * Used by the scheduler thread only.
 */
final class PromptCache implements AutoCloseable {

    /** A session taken from the cache and how many leading prompt tokens it already holds. */
    record Hit(Session session, int commonPrefix) {}

    private record Entry(SessionOptions options, Session session, long bytes) {}

    private final long capacityBytes;
    /** Where the sessions let go are saved, or null. */
    private final DiskPromptCache disk;
    /** Least recently used first. */
    private final List<Entry> entries = new ArrayList<>();
    private long bytes;

    PromptCache(long capacityBytes, DiskPromptCache disk) {
        this.capacityBytes = capacityBytes;
        this.disk = disk;
    }

    /** The memory one session holds: its KV cache for the whole context, and the policy's index. */
    static long allocatedBytes(Session s) {
        return s.attention().kvBytesResident(s.contextSize());
    }

    /**
     * Removes and returns a session with the same options for this prompt, or null (the caller opens a new one).
     * Preferred: the one sharing the longest token prefix with the prompt, provided that prefix is at least half
     * of the prompt (llama.cpp's slot-similarity rule), so that a request sharing only a sliver with a cached
     * conversation (a BOS token, a short system prompt) does not wipe it out for little gain. Failing that, when a new
     * session could not be cached alongside the others without evicting one, the least recently used session
     * is recycled instead: it would be evicted anyway, and its memory is already allocated.
     */
    Hit take(SessionOptions options, int[] prompt) {
        int best = -1, bestPrefix = 0, lru = -1, lruPrefix = 0;
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            if (!e.options.equals(options)) continue;
            int p = commonPrefix(e.session.tokens(), prompt);
            if (lru < 0) {
                lru = i;
                lruPrefix = p;
            }
            if (p > bestPrefix && 2L * p >= prompt.length) {
                best = i;
                bestPrefix = p;
            }
        }
        if (best < 0 && disk != null) {
            Session saved = disk.take(options, prompt);
            if (saved != null) return new Hit(saved, commonPrefix(saved.tokens(), prompt));
        }
        if (best < 0 && lru >= 0 && bytes + entries.get(lru).bytes > capacityBytes) {
            best = lru;
            bestPrefix = lruPrefix;
        }
        if (best < 0) return null;
        Entry e = entries.remove(best);
        bytes -= e.bytes;
        return new Hit(e.session, bestPrefix);
    }

    /** Keeps an idle session as the most recently used, closing the least recently used ones past the bound. */
    void put(SessionOptions options, Session session) {
        long b = allocatedBytes(session);
        if (session.length() == 0 || b > capacityBytes) {
            letGo(options, session);
            return;
        }
        entries.add(new Entry(options, session, b));
        bytes += b;
        while (bytes > capacityBytes) {
            Entry lru = entries.removeFirst();
            bytes -= lru.bytes;
            letGo(lru.options, lru.session);
        }
    }

    /** A session leaves memory: saved to the disk tier if there is one, then closed. */
    private void letGo(SessionOptions options, Session session) {
        try {
            if (disk != null) disk.spill(options, session);
        } finally {
            session.close();
        }
    }

    int diskSize() {
        return disk == null ? 0 : disk.size();
    }

    int size() {
        return entries.size();
    }

    long allocatedBytes() {
        return bytes;
    }

    /** KV and index bytes for the tokens the idle sessions hold. */
    long residentBytes() {
        long sum = 0;
        for (Entry e : entries) sum += e.session.attention().kvBytesResident(e.session.length());
        return sum;
    }

    static int commonPrefix(int[] a, int[] b) {
        int n = Math.min(a.length, b.length), i = 0;
        while (i < n && a[i] == b[i]) i++;
        return i;
    }

    /** Frees every idle session (to make room), without saving them. */
    void drop() {
        for (Entry e : entries) e.session.close();
        entries.clear();
        bytes = 0;
    }

    /** Shutdown: the idle sessions go to the disk tier, if there is one, for the next run. */
    @Override
    public void close() {
        for (Entry e : entries) letGo(e.options, e.session);
        entries.clear();
        bytes = 0;
    }
}
