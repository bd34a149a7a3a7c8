package clusterkv.server;

import clusterkv.chat.ChatMessage;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static clusterkv.server.TestServer.JSON;
import static clusterkv.server.TestServer.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * llama-server's slot actions: a request with id_slot leaves its session in the slot; save writes it to
 * --slot-save-path, restore brings it back in another server run, and the next request on the slot reuses it.
 */
class ServerSlotsTest {

    private static final List<ChatMessage> TURN1 = List.of(ChatMessage.system("You tell short stories."), ChatMessage.user("Tell me about a cat."));

    private static JsonNode chat(TestServer server, List<ChatMessage> messages, int slot) throws Exception {
        ObjectNode body = JSON.createObjectNode();
        ArrayNode array = body.putArray("messages");
        for (ChatMessage m : messages) array.addObject().put("role", m.role()).put("content", m.content());
        body.put("max_tokens", 16).put("temperature", 0).put("id_slot", slot);
        var r = server.post("/v1/chat/completions", JSON.writeValueAsString(body));
        assertEquals(200, r.statusCode(), r.body());
        return json(r);
    }

    private static JsonNode action(TestServer server, String path, String body, int status) throws Exception {
        var r = server.post(path, body);
        assertEquals(status, r.statusCode(), r.body());
        return json(r);
    }

    @Test
    void aSlotSavedInOneRunIsRestoredInTheNext(@TempDir Path dir) throws Exception {
        String reply;
        try (TestServer server = new TestServer(256, c -> c.withCacheBytes(0).withSlotSavePath(dir))) {
            reply = chat(server, TURN1, 1).get("choices").get(0).get("message").get("content").asText();
            JsonNode saved = action(server, "/slots/1?action=save", "{\"filename\": \"cat.bin\"}", 200);
            assertEquals(1, saved.get("id_slot").asInt());
            assertEquals(server.chatTokens(TURN1).length + 16, saved.get("n_saved").asInt(), saved.toString());
            assertTrue(saved.get("n_written").asLong() > 0 && saved.get("timings").has("save_ms"), saved.toString());
            assertTrue(Files.exists(dir.resolve("cat.bin")));
        }
        try (TestServer server = new TestServer(256, c -> c.withCacheBytes(0).withSlotSavePath(dir))) {
            JsonNode restored = action(server, "/slots/2?action=restore", "{\"filename\": \"cat.bin\"}", 200);
            assertEquals(server.chatTokens(TURN1).length + 16, restored.get("n_restored").asInt(), restored.toString());
            List<ChatMessage> turn2 = List.of(TURN1.get(0), TURN1.get(1), ChatMessage.assistant(reply), ChatMessage.user("And then?"));
            JsonNode second = chat(server, turn2, 2);
            int cached = second.get("usage").get("prompt_tokens_details").get("cached_tokens").asInt();
            assertTrue(cached >= server.chatTokens(TURN1).length, "the restored slot's session was continued: " + second.get("usage"));
            assertEquals(server.reference(server.chatTokens(turn2), 16), second.get("choices").get(0).get("message").get("content").asText());
            JsonNode erased = action(server, "/slots/2?action=erase", "", 200);
            assertTrue(erased.get("n_erased").asInt() > cached, erased.toString());
        }
    }

    @Test
    void aSlotInUseIsBusy(@TempDir Path dir) throws Exception {
        try (TestServer server = new TestServer(256, c -> c.withSlotSavePath(dir))) {
            String body = "{\"messages\": [{\"role\": \"user\", \"content\": \"Tell me a story.\"}], \"max_tokens\": 200, \"stream\": true, \"id_slot\": 0}";
            try (TestServer.RawStream stream = new TestServer.RawStream(server.server.port(), "/v1/chat/completions", body)) {
                stream.nextEvent(); // generating now
                JsonNode busy = action(server, "/slots/0?action=save", "{\"filename\": \"s\"}", 409);
                assertEquals("slot_busy", busy.get("error").get("code").asText(), busy.toString());
                for (String e = stream.nextEvent(); e != null && !e.equals("[DONE]"); e = stream.nextEvent()) { } // let it finish
            }
            server.awaitMetric("clusterkv_active_sessions", 0);
            assertEquals(0, action(server, "/slots/0?action=save", "{\"filename\": \"s\"}", 200).get("id_slot").asInt());
        }
    }

    @Test
    void badSlotActionsAreRefused(@TempDir Path dir) throws Exception {
        try (TestServer server = new TestServer(256, c -> c.withSlotSavePath(dir))) {
            assertEquals("id_slot", action(server, "/slots/9?action=save", "{\"filename\": \"a\"}", 400).get("error").get("param").asText());
            assertEquals("action", action(server, "/slots/0?action=load", "{\"filename\": \"a\"}", 400).get("error").get("param").asText());
            for (String name : new String[]{"../x", ".hidden", "a/b", ""}) {
                JsonNode e = action(server, "/slots/0?action=save", "{\"filename\": \"" + name + "\"}", 400);
                assertEquals("filename", e.get("error").get("param").asText(), name);
            }
            assertTrue(action(server, "/slots/0?action=save", "{\"filename\": \"a\"}", 400).get("error").get("message").asText().contains("holds no session"));
            assertTrue(action(server, "/slots/0?action=restore", "{\"filename\": \"missing\"}", 400).get("error").get("message").asText().contains("no saved slot file"));
            assertEquals(400, server.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"id_slot\": 4}").statusCode());
        }
        try (TestServer server = new TestServer(256, c -> c)) {
            assertEquals(501, server.post("/slots/0?action=save", "{\"filename\": \"a\"}").statusCode());
        }
    }
}
