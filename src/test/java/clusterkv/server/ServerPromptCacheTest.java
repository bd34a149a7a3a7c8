package clusterkv.server;

import clusterkv.chat.ChatMessage;
import clusterkv.generate.LanguageModel;
import clusterkv.generate.Session;
import clusterkv.generate.SessionOptions;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.util.List;

import static clusterkv.server.TestServer.JSON;
import static clusterkv.server.TestServer.json;
import static org.junit.jupiter.api.Assertions.*;

/** Idle sessions are kept and a later request that shares their prefix reuses their KV cache. */
class ServerPromptCacheTest {

    private static JsonNode chat(TestServer server, List<ChatMessage> messages, String extra) throws Exception {
        ObjectNode body = JSON.createObjectNode();
        ArrayNode array = body.putArray("messages");
        for (ChatMessage m : messages) array.addObject().put("role", m.role()).put("content", m.content());
        body.put("max_tokens", 24).put("temperature", 0);
        String json = JSON.writeValueAsString(body);
        if (!extra.isEmpty()) json = json.substring(0, json.length() - 1) + ", " + extra + "}";
        var r = server.post("/v1/chat/completions", json);
        assertEquals(200, r.statusCode(), r.body());
        return json(r);
    }

    private static int cached(JsonNode response) {
        return response.get("usage").get("prompt_tokens_details").get("cached_tokens").asInt();
    }

    @Test
    void theSecondTurnOfAChatIsPrefilledOnlyFromWhereItDiffers() throws Exception {
        try (TestServer server = new TestServer(512, c -> c)) {
            List<ChatMessage> turn1 = List.of(ChatMessage.system("You tell short stories."), ChatMessage.user("Tell me about a cat."));
            JsonNode first = chat(server, turn1, "");
            assertEquals(0, cached(first));
            String reply = first.get("choices").get(0).get("message").get("content").asText();
            double prefilledBefore = server.metric("clusterkv_prefill_tokens_total");

            List<ChatMessage> turn2 = List.of(turn1.get(0), turn1.get(1), ChatMessage.assistant(reply), ChatMessage.user("And then?"));
            JsonNode second = chat(server, turn2, "");
            int prompt = second.get("usage").get("prompt_tokens").asInt();
            int reused = cached(second);
            assertTrue(reused >= server.chatTokens(turn1).length, "the first turn's prompt is reused: " + reused);
            assertTrue(reused < prompt);
            assertEquals(prompt - reused, server.metric("clusterkv_prefill_tokens_total") - prefilledBefore, "only the rest was prefilled");
            assertEquals(reused, server.metric("clusterkv_prompt_tokens_cached_total"));
            // the reused cache gives the answer a fresh prefill gives
            assertEquals(server.reference(server.chatTokens(turn2), 24), second.get("choices").get(0).get("message").get("content").asText());
        }
    }

    @Test
    void aRepeatedPromptReusesAllButItsLastToken() throws Exception {
        try (TestServer server = new TestServer(256, c -> c)) {
            String body = "{\"prompt\": \"The sun was warm\", \"max_tokens\": 8, \"temperature\": 0}";
            JsonNode a = json(server.post("/v1/completions", body)), b = json(server.post("/v1/completions", body));
            int prompt = a.get("usage").get("prompt_tokens").asInt();
            assertEquals(prompt - 1, cached(b), "one token is fed again for fresh logits");
            assertEquals(a.get("choices").get(0).get("text"), b.get("choices").get(0).get("text"));
            // another KV policy never shares a cache built under full attention
            JsonNode c = json(server.post("/v1/completions", body.replace("}", ", \"kv_policy\": \"streaming\", \"kv_budget\": 64}")));
            assertEquals(0, cached(c));
        }
    }

    @Test
    void clusterKvSessionsAreReusedAcrossTurns() throws Exception {
        try (TestServer server = new TestServer(512, c -> c)) {
            String policy = "\"kv_policy\": \"clusterkv\", \"kv_budget\": 24";
            List<ChatMessage> turn1 = List.of(ChatMessage.user("Once upon a time there was a girl named Lily who had a red ball and a big dog."));
            JsonNode first = chat(server, turn1, policy);
            String reply = first.get("choices").get(0).get("message").get("content").asText();
            JsonNode second = chat(server, List.of(turn1.get(0), ChatMessage.assistant(reply), ChatMessage.user("What did the dog do?")), policy);
            assertTrue(cached(second) >= server.chatTokens(turn1).length, "reused " + cached(second));
        }
    }

    @Test
    void leastRecentlyUsedSessionsAreClosedPastTheBound() throws Exception {
        try (LanguageModel lm = LanguageModel.load(TestServer.MODEL)) {
            SessionOptions options = SessionOptions.defaults().withContextSize(64);
            Session[] s = new Session[3];
            for (int i = 0; i < 3; i++) {
                s[i] = lm.newSession(options);
                s[i].append(new int[]{1, 100 + i, 200 + i}, null);
            }
            long each = PromptCache.allocatedBytes(s[0]);
            PromptCache cache = new PromptCache(2 * each + each / 2, null);
            for (Session session : s) cache.put(options, session);
            assertEquals(2, cache.size());
            assertEquals(2 * each, cache.allocatedBytes());
            assertThrows(IllegalStateException.class, () -> s[0].append(new int[]{5}, null), "the evicted session's KV memory is freed");

            PromptCache.Hit hit = cache.take(options, new int[]{1, 102, 202, 9});
            assertSame(s[2], hit.session());
            assertEquals(3, hit.commonPrefix());
            // s[1] alone is cached now, and a new session would fit beside it
            assertNull(cache.take(options, new int[]{7, 100}), "no shared prefix");
            assertNull(cache.take(options, new int[]{1, 7, 8}), "one token of three is too little to give up a conversation for");
            assertSame(s[1], cache.take(options, new int[]{1, 101}).session(), "a short prompt covered by a longer conversation");
            cache.put(options, s[1]);
            assertNull(cache.take(options.withPolicy("streaming", options.policyConfig()), new int[]{1, 101, 201}), "other options never match");

            cache.put(options, s[2]); // full again: a new session would evict one, so the least recently used is recycled
            PromptCache.Hit recycled = cache.take(options, new int[]{9});
            assertSame(s[1], recycled.session());
            assertEquals(0, recycled.commonPrefix());
            assertEquals(1, cache.size());
            recycled.session().close();
            cache.close();
            assertThrows(IllegalStateException.class, () -> s[2].append(new int[]{5}, null), "closing the cache frees its sessions");
        }
    }
}
