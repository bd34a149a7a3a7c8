package clusterkv.cli;

import clusterkv.chat.ChatMessage;
import clusterkv.chat.ChatPrompt;
import clusterkv.chat.ChatTemplate;
import clusterkv.generate.GenerationResult;
import clusterkv.generate.LanguageModel;
import clusterkv.generate.Session;
import clusterkv.generate.SessionLock;
import clusterkv.generate.SessionOptions;
import clusterkv.generate.StopReason;
import clusterkv.tokenizer.Tokenizer;
import com.fasterxml.jackson.databind.ObjectMapper;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * Interactive multi-turn chat. Each turn renders the whole conversation with the model's chat
 * template and feeds only what the KV cache does not already hold (the longest common prefix is kept).
 */
@Command(name = "chat", description = "Interactive multi-turn chat with the model's chat template (/clear resets, /exit quits).")
final class ChatCommand implements Callable<Integer> {

    @Mixin
    ModelOptions options;

    @Mixin
    PolicyOptions policy;

    @Mixin
    SamplingOptions sampling;

    @Mixin
    JsonOutputOptions json;

    @Option(names = {"-s", "--system"}, paramLabel = "TEXT", description = "System prompt.")
    String system;

    @Option(names = "--session", paramLabel = "FILE", description = "Resume the conversation saved in FILE (if it exists) and save it there after each turn.")
    Path sessionFile;

    private static final String MESSAGES_NOTE = "chat.messages";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);

    @Override
    public Integer call() throws Exception {
        options.applyThreads();
        SessionOptions sessionOptions = policy.apply(options.session());
        try (LanguageModel lm = LanguageModel.load(options.resolveModel());
             SessionLock lock = sessionFile == null ? null : SessionLock.acquire(sessionFile);
             Session session = sessionFile != null && Files.exists(sessionFile) ? lm.openSession(sessionFile, sessionOptions) : lm.newSession(sessionOptions)) {
            Tokenizer tok = lm.tokenizer();
            var md = lm.model().file().metadata();
            ChatTemplate template = ChatPrompt.templateOf(md, tok);
            if (template.isFallback()) System.err.println("note: " + template.fallbackReason());
            List<ChatMessage> messages = new ArrayList<>();
            String saved = session.notes().get(MESSAGES_NOTE);
            if (saved != null) {
                messages.addAll(List.of(JSON.readValue(saved, ChatMessage[].class)));
                System.err.printf("resumed %d messages (%d tokens) from %s%n", messages.size(), session.length(), sessionFile);
                if (system != null) System.err.println("note: --system is ignored: the resumed conversation keeps its own");
            } else if (system != null) {
                messages.add(new ChatMessage("system", system));
            }
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            System.err.println("chat: " + session.contextSize() + " tokens of context; /clear resets, /exit quits");
            while (true) {
                out.print("> ");
                String line = in.readLine();
                if (line == null || line.strip().equals("/exit")) break;
                if (line.isBlank()) continue;
                if (line.strip().equals("/clear")) {
                    clear(messages, session);
                    save(session, messages);
                    System.err.println("(conversation cleared)");
                    continue;
                }
                messages.add(new ChatMessage("user", line));
                int[] ids = ChatPrompt.encode(tok, template.render(messages, true));
                if (ids.length + 1 > session.contextSize()) {
                    System.err.printf("the conversation (%d tokens) would outgrow the context of %d tokens. Clear it and continue with this message? [y/N] ",
                            ids.length, session.contextSize());
                    String answer = in.readLine();
                    messages.removeLast();
                    if (answer == null || !answer.strip().toLowerCase().startsWith("y")) continue;
                    clear(messages, session);
                    messages.add(new ChatMessage("user", line));
                    ids = ChatPrompt.encode(tok, template.render(messages, true));
                    if (ids.length + 1 > session.contextSize()) {
                        System.err.println("this message alone does not fit in the context; it was dropped");
                        messages.removeLast();
                        continue;
                    }
                }
                int[] rest = session.reuse(ids);
                GenerationResult r = session.generate(rest, sampling.toOptions().withConstraint(json.constraint()), out::print, null);
                out.println();
                messages.add(new ChatMessage("assistant", r.text()));
                save(session, messages);
                if (r.stopReason() == StopReason.CONTEXT_FULL) {
                    System.err.println("(the context is full: the answer was cut; /clear to start over)");
                }
            }
        }
        return 0;
    }

    private void clear(List<ChatMessage> messages, Session session) {
        messages.removeIf(m -> !m.role().equals("system"));
        session.truncate(0);
    }

    /** With --session: the session and the messages it was made from, so that the next run resumes both. */
    private void save(Session session, List<ChatMessage> messages) throws java.io.IOException {
        if (sessionFile == null) return;
        try {
            session.save(sessionFile, Map.of(MESSAGES_NOTE, JSON.writeValueAsString(messages)));
        } catch (java.io.IOException | RuntimeException e) { // the conversation goes on; the file keeps its last good save
            System.err.println("warning: the conversation was not saved: " + Main.describe(e));
        }
    }
}
