package clusterkv.generate;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One process at a time on a session file: an exclusive lock on {@code FILE.lock}, held while the session is used
 * and saved. The file itself cannot carry the lock, since saving replaces it by a rename. A second process (or a
 * second holder in this one) gets a one-line error instead of two sessions overwriting each other's saves.
 */
public final class SessionLock implements AutoCloseable {

    private final Path lockFile;
    private final FileChannel channel;
    private final FileLock lock;

    private SessionLock(Path lockFile, FileChannel channel, FileLock lock) {
        this.lockFile = lockFile;
        this.channel = channel;
        this.lock = lock;
    }

    public static SessionLock acquire(Path sessionFile) throws IOException {
        Path lockFile = sessionFile.resolveSibling(sessionFile.getFileName() + ".lock");
        for (int attempt = 0; ; attempt++) {
            SessionLock held = tryAcquire(sessionFile, lockFile);
            // the holder before us deletes the lock file as it lets go: a lock on a file no longer at the path locks nothing
            if (Files.exists(lockFile) || attempt == 3) return held;
            held.lock.release();
            held.channel.close();
        }
    }

    private static SessionLock tryAcquire(Path sessionFile, Path lockFile) throws IOException {
        FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        if (lock == null) {
            channel.close();
            throw new SessionFileException(sessionFile + " is in use by another process (" + lockFile + " is locked)");
        }
        return new SessionLock(lockFile, channel, lock);
    }

    @Override
    public void close() throws IOException {
        try {
            Files.deleteIfExists(lockFile); // while still holding it (see acquire)
            lock.release();
        } finally {
            channel.close();
        }
    }
}
