package clusterkv.server;

import com.sun.net.httpserver.HttpExchange;

import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * Tells whether the client of a non-streaming request has gone away while its answer is being generated, so that
 * the generation stops and frees its slot. A streaming answer learns it at its next write; a non-streaming one
 * writes nothing until the end, so the probe reads the socket without blocking: -1 (the client closed it) or an
 * error (reset) means gone. The JDK's HttpExchange does not expose its socket, so the channel is reached by
 * reflection, which needs {@code --add-opens jdk.httpserver/sun.net.httpserver=ALL-UNNAMED} (the jar's manifest
 * and the test JVM carry it); without it, {@link #AVAILABLE} is false and a gone client is noticed only at the end.
 */
final class ClientProbe {

    private static final MethodHandle EXCHANGE_IMPL, CONNECTION, CHANNEL;
    /** Why probing is impossible, or null when it works. */
    static final String UNAVAILABLE;

    static {
        MethodHandle impl = null, connection = null, channel = null;
        String why = null;
        try {
            impl = getter("sun.net.httpserver.HttpExchangeImpl", "impl");
            connection = getter("sun.net.httpserver.ExchangeImpl", "connection");
            channel = getter("sun.net.httpserver.HttpConnection", "chan");
        } catch (ReflectiveOperationException | RuntimeException e) {
            why = "the JDK's HTTP server hides its sockets (" + e.getClass().getSimpleName()
                    + "); run with --add-opens jdk.httpserver/sun.net.httpserver=ALL-UNNAMED";
        }
        EXCHANGE_IMPL = impl;
        CONNECTION = connection;
        CHANNEL = channel;
        UNAVAILABLE = why;
    }

    private static final ClientProbe NEVER_GONE = new ClientProbe(null, null);

    private final HttpExchange exchange;
    private SocketChannel channel;

    private ClientProbe(HttpExchange exchange, SocketChannel channel) {
        this.exchange = exchange;
        this.channel = channel;
    }

    /** A probe of the exchange's connection; one that never says gone when the socket cannot be reached. */
    static ClientProbe of(HttpExchange exchange) {
        if (UNAVAILABLE != null) return NEVER_GONE;
        try {
            Object impl = EXCHANGE_IMPL.invoke(exchange);
            Object connection = CONNECTION.invoke(impl);
            return new ClientProbe(exchange, (SocketChannel) CHANNEL.invoke(connection));
        } catch (Throwable t) { // another exchange class (an HTTPS one, a wrapper): probing is only an optimisation
            return NEVER_GONE;
        }
    }

    /**
     * True when the client closed or reset the connection. Called by the request's handler thread only, while it
     * neither reads nor writes the exchange, so switching the channel to non-blocking for one read races with nothing.
     */
    boolean gone() {
        if (channel == null) return false;
        ByteBuffer one = ByteBuffer.allocate(1);
        int n;
        try {
            synchronized (channel.blockingLock()) {
                channel.configureBlocking(false);
                try {
                    n = channel.read(one);
                } finally {
                    channel.configureBlocking(true);
                }
            }
        } catch (IOException e) { // reset by the peer, or closed
            return true;
        }
        if (n > 0) { // the client sent its next request already (pipelining): that byte is consumed, so this connection ends with this answer
            exchange.getResponseHeaders().set("Connection", "close");
            channel = null;
        }
        return n < 0;
    }

    private static MethodHandle getter(String className, String field) throws ReflectiveOperationException {
        Class<?> c = Class.forName(HttpExchange.class.getModule(), className);
        if (c == null) throw new ClassNotFoundException(className);
        Field f = c.getDeclaredField(field);
        f.setAccessible(true);
        return MethodHandles.lookup().unreflectGetter(f);
    }
}
