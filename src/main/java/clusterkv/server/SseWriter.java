package clusterkv.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A server-sent-events response as OpenAI streams it: one {@code data: <json>} event per chunk, each
 * flushed at once, and {@code data: [DONE]} at the end. A write to a client that went away throws
 * IOException, which is how the handler learns to cancel the generation.
 */
final class SseWriter {

    private final ObjectMapper json;
    private final OutputStream out;

    /** Sends the 200 headers (chunked transfer: the length is unknown). */
    SseWriter(HttpExchange exchange, ObjectMapper json) throws IOException {
        this.json = json;
        exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        exchange.getResponseHeaders().set("Cache-Control", "no-cache");
        exchange.sendResponseHeaders(200, 0);
        this.out = exchange.getResponseBody();
    }

    void send(JsonNode chunk) throws IOException {
        write("data: " + json.writeValueAsString(chunk) + "\n\n");
    }

    void done() throws IOException {
        write("data: [DONE]\n\n");
    }

    private void write(String event) throws IOException {
        out.write(event.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }
}
