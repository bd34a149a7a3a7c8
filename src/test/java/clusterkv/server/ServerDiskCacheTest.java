package clusterkv.server;

import clusterkv.chat.ChatMessage;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static clusterkv.server.TestServer.JSON;
import static clusterkv.server.TestServer.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * --cache-dir: the sessions the memory tier lets go are saved and come back on a prefix hit, also in the next
 * server run, and give the answer a fresh prefill gives; the directory never holds more than its bound.
 */
class ServerDiskCacheTest {

    private static final List<ChatMessage> TURN1 = List.of(ChatMessage.system("You tell short stories."), ChatMessage.user("Tell me about a cat."));

    private static JsonNode chat(TestServer server, List<ChatMessage> messages) throws Exception {
        ObjectNode body = JSON.createObjectNode();
        ArrayNode array = body.putArray("messages");
        for (ChatMessage m : messages) array.addObject().put("role", m.role()).put("content", m.content());
        body.put("max_tokens", 16).put("temperature", 0);
        var r = server.post("/v1/chat/completions", JSON.writeValueAsString(body));
        assertEquals(200, r.statusCode(), r.body());
        return json(r);
    }

    private static int cached(JsonNode response) {
        return response.get("usage").get("prompt_tokens_details").get("cached_tokens").asInt();
    }

    private static long filesIn(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".session")).count();
        }
    }

    @Test
    void aSessionLetGoComesBackFromDiskAndAfterARestart(@TempDir Path dir) throws Exception {
        // no memory tier to speak of: every idle session goes straight to the directory
        String reply;
        try (TestServer server = new TestServer(256, c -> c.withCacheBytes(1).withCacheDir(dir, 64L << 20))) {
            reply = chat(server, TURN1).get("choices").get(0).get("message").get("content").asText();
            server.awaitMetric("clusterkv_disk_cache_spills_total", 1);
            assertEquals(1, filesIn(dir));
            List<ChatMessage> turn2 = List.of(TURN1.get(0), TURN1.get(1), ChatMessage.assistant(reply), ChatMessage.user("And then?"));
            JsonNode second = chat(server, turn2);
            assertTrue(cached(second) >= server.chatTokens(TURN1).length, "the first turn came back from disk: " + second.get("usage"));
            assertEquals(1, server.metric("clusterkv_disk_cache_hits_total"));
            assertEquals(server.reference(server.chatTokens(turn2), 16), second.get("choices").get(0).get("message").get("content").asText());
        }
        assertTrue(filesIn(dir) >= 1, "the second turn's session was saved too");
        try (TestServer restarted = new TestServer(256, c -> c.withCacheBytes(1).withCacheDir(dir, 64L << 20))) {
            JsonNode again = chat(restarted, TURN1);
            assertTrue(cached(again) > 0, "a new run reuses what the last one saved: " + again.get("usage"));
            assertEquals(1, restarted.metric("clusterkv_disk_cache_hits_total"));
            assertEquals(reply, again.get("choices").get(0).get("message").get("content").asText());
        }
    }

    @Test
    void theDirectoryStaysWithinItsBound(@TempDir Path dir) throws Exception {
        try (TestServer server = new TestServer(256, c -> c.withCacheBytes(1).withCacheDir(dir, 1))) {
            chat(server, TURN1);
            chat(server, List.of(ChatMessage.user("A dog.")));
            assertEquals(0, filesIn(dir), "a session larger than the bound is not saved");
            assertEquals(0, server.metric("clusterkv_disk_cache_bytes"));
        }
    }
}
