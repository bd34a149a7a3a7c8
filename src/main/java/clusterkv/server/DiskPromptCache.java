package clusterkv.server;

import clusterkv.generate.LanguageModel;
import clusterkv.generate.Session;
import clusterkv.generate.SessionFile;
import clusterkv.generate.SessionOptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The prompt cache's second tier: idle sessions that the in-memory {@link PromptCache} lets go are saved to a
 * directory (--cache-dir) and come back on a prefix hit, mapped rather than read, also after the server restarts
 * (the directory is scanned at start). Bounded by the bytes of its files (--cache-disk-mb): the least recently used
 * are deleted first. A session that comes back leaves the directory (it is in memory again, and saved again if it
 * is let go again). Used by the scheduler thread only.
 */
final class DiskPromptCache {

    private static final String OPTIONS_NOTE = "server.options", BYTES_NOTE = "server.bytes", SUFFIX = ".session";

    private record Entry(String options, int[] tokens, Path file, long bytes) {}

    private final LanguageModel lm;
    private final Path dir;
    private final long capacityBytes;
    private final Metrics metrics;
    private final Consumer<String> log;
    /** Least recently used first. */
    private final List<Entry> entries = new ArrayList<>();
    private long bytes;

    DiskPromptCache(LanguageModel lm, Path dir, long capacityBytes, Metrics metrics, Consumer<String> log) throws IOException {
        this.lm = lm;
        this.dir = dir;
        this.capacityBytes = capacityBytes;
        this.metrics = metrics;
        this.log = log;
        Files.createDirectories(dir);
        scan();
    }

    /** The session files a previous run left, oldest first; files that are not ours or are damaged are left alone. */
    private void scan() throws IOException {
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*" + SUFFIX)) {
            for (Path f : ds) files.add(f);
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*" + SUFFIX + ".*.part")) {
            for (Path f : ds) delete(f); // a save that a killed run left unfinished
        }
        files.sort((a, b) -> {
            try {
                return Files.getLastModifiedTime(a).compareTo(Files.getLastModifiedTime(b));
            } catch (IOException e) {
                return 0;
            }
        });
        for (Path f : files) {
            try {
                SessionFile.Summary s = SessionFile.summary(f);
                String options = s.notes().get(OPTIONS_NOTE);
                if (options == null) continue;
                add(new Entry(options, s.tokens(), f, Math.max(0, Long.parseLong(s.notes().getOrDefault(BYTES_NOTE, "0")))));
            } catch (IOException | RuntimeException e) {
                log.accept("cache-dir: skipping " + f + ": " + e.getMessage());
            }
        }
        evictBeyondBound();
    }

    /** Saves a session the memory tier lets go (then closed by the caller), unless it alone exceeds the bound. */
    void spill(SessionOptions options, Session session) {
        long size = session.attention().kvBytesResident(session.length()) + session.logits().length * 4L + session.length() * 4L;
        if (size > capacityBytes || session.length() == 0) return;
        String key = options.toString();
        Path file = dir.resolve(name(key, session.tokens()));
        try {
            session.save(file, Map.of(OPTIONS_NOTE, key, BYTES_NOTE, Long.toString(size)));
        } catch (IOException | RuntimeException e) {
            log.accept("cache-dir: could not save an idle session: " + e.getMessage());
            return;
        }
        for (int i = entries.size() - 1; i >= 0; i--) if (entries.get(i).file.equals(file)) remove(i); // replaced
        add(new Entry(key, session.tokens(), file, size));
        metrics.diskSpills.increment();
        evictBeyondBound();
    }

    /**
     * The saved session with these options sharing the longest prefix with the prompt, at least half of it (as the
     * memory tier's rule), reopened; or null.
     */
    Session take(SessionOptions options, int[] prompt) {
        String key = options.toString();
        int best = -1, bestPrefix = 0;
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            if (!e.options.equals(key)) continue;
            int p = PromptCache.commonPrefix(e.tokens, prompt);
            if (p > bestPrefix && 2L * p >= prompt.length) {
                best = i;
                bestPrefix = p;
            }
        }
        if (best < 0) return null;
        Entry e = remove(best);
        long t0 = System.nanoTime();
        try {
            Session s = lm.openSession(e.file, options);
            metrics.diskHits.increment();
            metrics.diskHitBytes.add(e.bytes);
            return s;
        } catch (IOException | RuntimeException ex) {
            log.accept("cache-dir: could not reopen " + e.file + ": " + ex.getMessage());
            return null;
        } finally {
            metrics.diskRestoreNanos.add(System.nanoTime() - t0);
            delete(e.file); // mapped already, or useless: either way it leaves the directory
        }
    }

    int size() {
        return entries.size();
    }

    private void add(Entry e) {
        entries.add(e);
        bytes += e.bytes;
        metrics.diskBytes.add(e.bytes);
    }

    private Entry remove(int i) {
        Entry e = entries.remove(i);
        bytes -= e.bytes;
        metrics.diskBytes.add(-e.bytes);
        return e;
    }

    private void evictBeyondBound() {
        while (bytes > capacityBytes && !entries.isEmpty()) delete(remove(0).file);
    }

    private void delete(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            log.accept("cache-dir: could not delete " + file + ": " + e.getMessage());
        }
    }

    /** One file per options and token sequence: saving the same conversation again replaces its file. */
    private static String name(String options, int[] tokens) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(options.getBytes(StandardCharsets.UTF_8));
            sha.update(Arrays.toString(tokens).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(sha.digest(), 0, 12) + SUFFIX;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
