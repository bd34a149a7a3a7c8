package clusterkv.cli;

import clusterkv.chat.ChatMessage;
import clusterkv.chat.ChatPrompt;
import clusterkv.chat.ChatTemplate;
import clusterkv.generate.GenerationOptions;
import clusterkv.generate.LanguageModel;
import clusterkv.generate.Session;
import clusterkv.generate.SessionOptions;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The interactive chat loop, driven through stdin: each answer equals a fresh session's greedy answer to the
 * whole conversation rendered with the template (so keeping the KV cache across turns changes nothing),
 * /clear starts over, and a conversation that outgrows the context is offered a clear instead of being cut.
 */
class ChatCommandTest {

    private static final Path MODEL = Path.of("src/test/data/models/stories260K.gguf");

    private static synchronized BadInputTest.Outcome chat(String stdin, String... extra) {
        InputStream old = System.in;
        try {
            System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
            List<String> args = new ArrayList<>(List.of("chat", "-m", MODEL.toString(), "--temperature", "0", "-n", "24", "-t", "1"));
            args.addAll(List.of(extra));
            return BadInputTest.run(args.toArray(String[]::new));
        } finally {
            System.setIn(old);
        }
    }

    /** The answers printed after each "> " prompt. */
    private static List<String> answers(String out) {
        List<String> a = new ArrayList<>();
        for (String part : out.split("> ", -1)) if (!part.isBlank()) a.add(part.strip());
        return a;
    }

    /** A fresh session's greedy answer to the rendered conversation. */
    private static String reference(LanguageModel lm, int ctx, List<ChatMessage> messages) {
        ChatTemplate template = ChatPrompt.templateOf(lm.model().file().metadata(), lm.tokenizer());
        int[] ids = ChatPrompt.encode(lm.tokenizer(), template.render(messages, true));
        try (Session s = lm.newSession(SessionOptions.defaults().withContextSize(ctx))) {
            return s.generate(ids, GenerationOptions.greedy(24), t -> {}, null).text().strip();
        }
    }

    @Test
    void turnsKeepTheirCacheAndClearStartsOver() throws Exception {
        BadInputTest.Outcome o = chat("Once upon a time\nWhat happened next?\n/clear\nThe dog\n/exit\n", "-c", "512");
        assertEquals(0, o.code(), o.err());
        List<String> got = answers(o.out());
        assertEquals(3, got.size(), o.out());
        assertTrue(o.err().contains("(conversation cleared)"), o.err());
        try (LanguageModel lm = LanguageModel.load(MODEL)) {
            List<ChatMessage> first = List.of(new ChatMessage("user", "Once upon a time"));
            assertEquals(reference(lm, 512, first), got.get(0));
            List<ChatMessage> second = List.of(first.get(0), new ChatMessage("assistant", got.get(0)), new ChatMessage("user", "What happened next?"));
            assertEquals(reference(lm, 512, second), got.get(1), "the second turn, fed incrementally, equals a fresh prefill of the whole conversation");
            assertEquals(reference(lm, 512, List.of(new ChatMessage("user", "The dog"))), got.get(2), "after /clear only the new message counts");
        }
    }

    @Test
    void aConversationSavedWithSessionResumesInTheNextRunAsIfNeverInterrupted(@org.junit.jupiter.api.io.TempDir Path dir) {
        Path file = dir.resolve("chat.session");
        BadInputTest.Outcome whole = chat("Once upon a time\nWhat happened next?\n/exit\n", "-c", "512");
        BadInputTest.Outcome first = chat("Once upon a time\n/exit\n", "-c", "512", "--session", file.toString());
        BadInputTest.Outcome second = chat("What happened next?\n/exit\n", "-c", "512", "--session", file.toString());
        assertEquals(0, second.code(), second.err());
        assertTrue(second.err().contains("resumed 2 messages"), second.err());
        assertEquals(answers(whole.out()), List.of(answers(first.out()).get(0), answers(second.out()).get(0)));
        assertFalse(java.nio.file.Files.exists(dir.resolve("chat.session.lock")), "the lock file goes with the process");
    }

    @Test
    void aConversationThatOutgrowsTheContextIsOfferedAClear() {
        String longMessage = "The little dog ran to the park and played with a big red ball all day long. ".repeat(3);
        BadInputTest.Outcome o = chat("Once upon a time\n" + longMessage + "\nn\n/exit\n", "-c", "96");
        assertEquals(0, o.code(), o.err());
        assertTrue(o.err().contains("would outgrow the context of 96 tokens"), o.err());
        assertEquals(1, answers(o.out()).size(), "declining drops the message; nothing is cut silently: " + o.out());
    }
}
