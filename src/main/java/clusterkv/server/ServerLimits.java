package clusterkv.server;

import java.time.Duration;

/**
 * What a client may cost the server before it is refused: a hostile or broken client must not stall the other
 * requests, hold memory, or keep a connection forever.
 *
 * @param maxBodyBytes  largest request body; a larger declared Content-Length is refused (413) before reading, a
 *                      chunked body is cut off (413) at the limit
 * @param headerTimeout time from a request's first byte to the end of its headers; a slower client is dropped
 * @param bodyTimeout   time to receive the whole request body once the headers are in; a slower client is dropped
 * @param intakeThreads platform threads that parse and tokenize request bodies, so that a long prompt never
 *                      occupies the carrier threads that answer /health and the other requests
 */
public record ServerLimits(long maxBodyBytes, Duration headerTimeout, Duration bodyTimeout, int intakeThreads) {

    public static final long DEFAULT_MAX_BODY_BYTES = 4L << 20;
    public static final Duration DEFAULT_HEADER_TIMEOUT = Duration.ofSeconds(10);
    public static final Duration DEFAULT_BODY_TIMEOUT = Duration.ofSeconds(30);

    public ServerLimits {
        if (maxBodyBytes < 1 || maxBodyBytes > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("the request body limit must be in [1, " + (Integer.MAX_VALUE - 8) + "] bytes, got " + maxBodyBytes);
        }
        requirePositive("--header-timeout", headerTimeout);
        requirePositive("--body-timeout", bodyTimeout);
        if (intakeThreads < 1) throw new IllegalArgumentException("the intake threads must be >= 1, got " + intakeThreads);
    }

    /** 4 MiB bodies, 10 s for headers, 30 s for a body, half the cores (at least one) for parsing. */
    public static ServerLimits defaults() {
        int threads = Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
        return new ServerLimits(DEFAULT_MAX_BODY_BYTES, DEFAULT_HEADER_TIMEOUT, DEFAULT_BODY_TIMEOUT, threads);
    }

    public ServerLimits withMaxBodyBytes(long bytes) {
        return new ServerLimits(bytes, headerTimeout, bodyTimeout, intakeThreads);
    }

    public ServerLimits withTimeouts(Duration header, Duration body) {
        return new ServerLimits(maxBodyBytes, header, body, intakeThreads);
    }

    private static void requirePositive(String option, Duration d) {
        if (d == null || d.isNegative() || d.isZero()) throw new IllegalArgumentException(option + " must be > 0, got " + d);
    }
}
