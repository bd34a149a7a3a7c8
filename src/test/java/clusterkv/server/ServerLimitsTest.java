package clusterkv.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static clusterkv.server.TestServer.json;
import static org.junit.jupiter.api.Assertions.*;

/**
 * What one client may cost the server ({@link ServerLimits}): bodies over the limit are refused before they are read,
 * slow clients are dropped, over-long prompts are refused by their bytes, and none of it changes a later answer.
 */
class ServerLimitsTest {

    private static final int MAX_BODY = 64 << 10;
    private static final Duration TIMEOUT = Duration.ofMillis(300);
    private static final String GREEDY = "{\"prompt\": \"Once upon a time\", \"max_tokens\": 24, \"temperature\": 0}";

    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = new TestServer(64, c -> c.withLimits(c.limits().withMaxBodyBytes(MAX_BODY).withTimeouts(TIMEOUT, TIMEOUT)));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void aDeclaredLengthOverTheLimitIs413BeforeTheBodyIsSent() throws Exception {
        try (Socket s = socket()) {
            send(s, "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n");
            String answer = readToEnd(s); // not a byte of the body was sent: the answer cannot have waited for it
            assertTrue(answer.startsWith("HTTP/1.1 413"), answer);
            assertTrue(answer.contains("request_too_large"), answer);
        }
    }

    @Test
    void aChunkedBodyOverTheLimitIs413() throws Exception {
        try (Socket s = socket()) {
            StringBuilder request = new StringBuilder("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n");
            String chunk = "{\"prompt\": \"" + "a".repeat(8 << 10) + "\"}";
            for (int sent = 0; sent <= MAX_BODY; sent += chunk.length()) {
                request.append(Integer.toHexString(chunk.length())).append("\r\n").append(chunk).append("\r\n");
            }
            send(s, request.append("0\r\n\r\n").toString());
            String answer = readToEnd(s);
            assertTrue(answer.startsWith("HTTP/1.1 413"), answer);
        }
        // a chunked body within the limit is read as usual
        try (Socket s = socket()) {
            String body = GREEDY;
            send(s, "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                    + Integer.toHexString(body.length()) + "\r\n" + body + "\r\n0\r\n\r\n");
            assertTrue(readToEnd(s).startsWith("HTTP/1.1 200"));
        }
    }

    @Test
    void aPromptWithMoreBytesThanTheContextCanHoldIs400() throws Exception {
        // 63 prompt tokens of stories260K's vocabulary (none longer than a few dozen bytes) spell far fewer than 4000 bytes
        HttpResponse<String> r = server.post("/v1/completions", "{\"prompt\": \"" + "a".repeat(4000) + "\"}");
        assertEquals(400, r.statusCode(), r.body());
        JsonNode error = json(r).get("error");
        assertEquals("context_length_exceeded", error.get("code").asText());
        assertEquals("prompt", error.get("param").asText());
        assertTrue(error.get("message").asText().startsWith("the prompt is 4000 bytes"), r.body());

        // two messages of 2000 bytes and their roles ("user", 4 bytes each)
        String message = "{\"role\": \"user\", \"content\": \"" + "b".repeat(2000) + "\"}";
        HttpResponse<String> chat = server.post("/v1/chat/completions", "{\"messages\": [" + message + ", " + message + "]}");
        assertEquals(400, chat.statusCode(), chat.body());
        assertEquals("messages", json(chat).get("error").get("param").asText());
        assertTrue(json(chat).get("error").get("message").asText().startsWith("the prompt is 4008 bytes"), chat.body());
    }

    @Test
    void aStringLongerThanAnyPromptThatFitsStopsTheParser() throws Exception {
        HttpResponse<String> r = server.post("/v1/completions", "{\"prompt\": \"" + "a".repeat(60_000) + "\"}");
        assertEquals(400, r.statusCode(), r.body());
        JsonNode error = json(r).get("error");
        assertEquals("context_length_exceeded", error.get("code").asText());
        assertTrue(error.get("message").asText().startsWith("a string in the request body is longer than"), r.body());
    }

    @Test
    void aClientSlowToSendItsHeadersIsDropped() throws Exception {
        try (Socket s = socket()) {
            send(s, "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"); // and never the rest
            assertDropped(s);
        }
        assertEquals(200, server.get("/health").statusCode());
    }

    @Test
    void aClientSlowToSendItsBodyIsDropped() throws Exception {
        try (Socket s = socket()) {
            send(s, "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"prompt\":");
            assertDropped(s);
        }
    }

    @Test
    void anAnswerAfterAbuseEqualsTheAnswerBefore() throws Exception {
        HttpResponse<String> before = server.post("/v1/completions", GREEDY);
        assertEquals(200, before.statusCode(), before.body());
        aDeclaredLengthOverTheLimitIs413BeforeTheBodyIsSent();
        aChunkedBodyOverTheLimitIs413();
        aPromptWithMoreBytesThanTheContextCanHoldIs400();
        aStringLongerThanAnyPromptThatFitsStopsTheParser();
        aClientSlowToSendItsHeadersIsDropped();
        aClientSlowToSendItsBodyIsDropped();
        assertEquals(400, server.post("/v1/completions", GREEDY + "trailing").statusCode());
        HttpResponse<String> after = server.post("/v1/completions", GREEDY);
        assertEquals(200, after.statusCode(), after.body());
        assertEquals(text(before), text(after));
        assertEquals(server.reference(server.completionTokens("Once upon a time"), 24), text(after));
    }

    private static String text(HttpResponse<String> r) throws IOException {
        return json(r).get("choices").get(0).get("text").asText();
    }

    private static Socket socket() throws IOException {
        Socket s = new Socket("127.0.0.1", server.server.port());
        s.setSoTimeout(10_000); // a server that never answers fails the test instead of hanging it
        return s;
    }

    private static void send(Socket s, String text) throws IOException {
        s.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
        s.getOutputStream().flush();
    }

    /** Everything the server sends until it closes the connection. */
    private static String readToEnd(Socket s) throws IOException {
        try {
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the server kept the connection open for 10 s", e);
        }
    }

    /** The server closes the connection (a 408 before it is allowed) well before the 10 s read timeout. */
    private static void assertDropped(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        try {
            String rest = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(rest.isEmpty() || rest.startsWith("HTTP/1.1 408"), rest);
        } catch (SocketTimeoutException e) {
            throw new AssertionError("a slow client was not dropped", e);
        } catch (java.net.SocketException reset) {
            // dropped with a reset: as good
        }
    }
}
