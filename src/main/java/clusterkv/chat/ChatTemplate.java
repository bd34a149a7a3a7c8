package clusterkv.chat;

import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A model's chat template: the Jinja template stored in GGUF metadata under
 * {@code tokenizer.chat_template} (the same text as {@code chat_template} in HF's
 * {@code tokenizer_config.json}), rendered the way HF transformers' {@code apply_chat_template}
 * renders it: {@code trim_blocks} and {@code lstrip_blocks} on, variables {@code messages},
 * {@code add_generation_prompt}, {@code bos_token}, {@code eos_token}, and the functions
 * {@code raise_exception} and {@code strftime_now}. Rendering uses jinjava, with Python string
 * methods, extended slices, keyword arguments and HF's {@code tojson} made to work as in Jinja2.
 *
 * <p>When the template is missing, cannot be parsed, or fails to render, a built-in format is used
 * instead (ChatML, Llama 3, Gemma, Mistral or Zephyr when the template or EOS text shows the model
 * family, otherwise plain {@code Role: content} lines); {@link #isFallback()} and
 * {@link #fallbackReason()} say so in one line, for the CLI to print on stderr.
 *
 * <p><b>BOS.</b> The output contains the BOS text only where the template writes
 * {@code bos_token} (Llama 3, Mistral and Gemma templates do; the built-in formats never do).
 * Callers that add BOS when tokenizing should skip it when the prompt already starts with it.
 * Special-token texts in the output (e.g. {@code <|im_start|>}) must be tokenized as special tokens.
 *
 * <p>Instances are thread-safe; {@link #isFallback()} reflects the most recent render.
 */
public final class ChatTemplate {

    /**
     * The result of {@link #renderDetailed}.
     *
     * @param text     the prompt
     * @param fallback true when the built-in format was used instead of the model's template
     * @param note     one line saying why the fallback was used or how the conversation was adjusted
     *                 to fit the template (a system message merged into the first user message);
     *                 {@code null} when the template rendered the conversation as given
     */
    public record Rendered(String text, boolean fallback, String note) {}

    private static final int MAX_REASON = 300;
    /** Separator used when a system message has to be merged into the first user message (as llama.cpp). */
    private static final String SYSTEM_MERGE_SEPARATOR = "\n";
    private static final String SYSTEM_PROBE = "SYSTEM_PROBE_5d1c7e";

    private final String template;     // as given; null when absent
    private final String converted;    // jinjava form; null when unusable
    private final String bosText;
    private final String eosText;
    private final Clock clock;
    private final BuiltinFormat builtin;
    private final String unusableReason; // null when the template is usable
    private final boolean ignoresSystem;  // renders fine but drops a system message
    private final Map<String, Object> variables; // extra template variables

    /** Why prompts are currently rendered with the built-in format; null when they are not. */
    private volatile String fallbackReason;

    private ChatTemplate(String template, String bosText, String eosText, Clock clock,
            Map<String, Object> variables) {
        this.template = template;
        this.variables = variables;
        this.bosText = bosText == null ? "" : bosText;
        this.eosText = eosText == null ? "" : eosText;
        this.clock = Objects.requireNonNull(clock, "clock");
        this.builtin = BuiltinFormat.guess(template, eosText);
        String conv = null;
        String problem;
        if (template == null || template.isBlank()) {
            problem = "model has no chat template (tokenizer.chat_template)";
        } else {
            try {
                conv = JinjaSource.toJinjava(template);
                problem = probe(conv);
            } catch (JinjaSource.SyntaxError e) {
                problem = "chat template has a syntax error: " + e.getMessage();
            }
        }
        if (problem != null) {
            this.converted = null;
            this.unusableReason = oneLine(problem + "; using built-in " + builtin.displayName + " prompt format");
            this.ignoresSystem = false;
        } else {
            this.converted = conv;
            this.unusableReason = null;
            this.ignoresSystem = probeIgnoresSystem(conv);
        }
        this.fallbackReason = unusableReason;
    }

    /**
     * Creates the chat template of a model.
     *
     * @param templateOrNull the Jinja template ({@code tokenizer.chat_template}); null or blank for none
     * @param bosText        the text of the BOS token (e.g. {@code "<s>"}), bound to {@code bos_token}
     * @param eosText        the text of the EOS token (e.g. {@code "</s>"}), bound to {@code eos_token}
     */
    public static ChatTemplate of(String templateOrNull, String bosText, String eosText) {
        return of(templateOrNull, bosText, eosText, Clock.systemDefaultZone());
    }

    /** As {@link #of(String, String, String)}, with the clock {@code strftime_now} reads. */
    public static ChatTemplate of(String templateOrNull, String bosText, String eosText, Clock clock) {
        return new ChatTemplate(templateOrNull, bosText, eosText, clock, Map.of());
    }

    /**
     * Returns a template that also passes the given variables to the template, as extra keyword
     * arguments to HF's {@code apply_chat_template} do; e.g. {@code enable_thinking=false} for Qwen3
     * or {@code date_string} for Llama 3.x. They cannot replace {@code messages},
     * {@code add_generation_prompt}, {@code bos_token} or {@code eos_token}.
     */
    public ChatTemplate withVariables(Map<String, ?> extra) {
        Map<String, Object> merged = new LinkedHashMap<>(variables);
        merged.putAll(extra);
        return new ChatTemplate(template, bosText, eosText, clock, Collections.unmodifiableMap(merged));
    }

    /**
     * Starts initialising the template engine on a daemon thread. Optional: creating jinjava takes
     * about a second, so a CLI may call this early (e.g. before loading the model) to hide that time.
     */
    public static void preloadAsync() {
        Thread t = new Thread(JinjaEngine::init, "chat-template-preload");
        t.setDaemon(true);
        t.start();
    }

    /**
     * Renders a conversation into a prompt. Never fails for template problems: if the template
     * cannot render the conversation, the built-in format is used and {@link #isFallback()} becomes
     * true. Like llama.cpp, a leading system message that the template rejects (e.g. Gemma's
     * {@code raise_exception('System role not supported')}) or silently drops is merged into the first
     * user message (joined with a newline) rather than lost.
     *
     * @param addGenerationPrompt append the header that starts the assistant's reply
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return renderDetailed(messages, addGenerationPrompt).text();
    }

    /** As {@link #render}, also telling whether and why the built-in format was used. */
    public Rendered renderDetailed(List<ChatMessage> messages, boolean addGenerationPrompt) {
        Objects.requireNonNull(messages, "messages");
        Rendered r = doRender(messages, addGenerationPrompt);
        fallbackReason = r.fallback() ? r.note() : null;
        return r;
    }

    /**
     * Renders exactly as HF's {@code apply_chat_template} would: no fallback and no adjustment of the
     * conversation.
     *
     * @throws ChatTemplateException if the template is unusable or fails on this conversation
     *                               (including the template calling {@code raise_exception})
     */
    public String renderStrict(List<ChatMessage> messages, boolean addGenerationPrompt) {
        Objects.requireNonNull(messages, "messages");
        if (converted == null) {
            throw new ChatTemplateException(unusableReason, false);
        }
        JinjaEngine.Outcome o = JinjaEngine.render(converted, context(messages, addGenerationPrompt), clock);
        if (!o.ok()) {
            throw new ChatTemplateException(oneLine(o.error()), o.raised());
        }
        return o.output();
    }

    /**
     * True when prompts are rendered with the built-in format: the model's template is missing or
     * unusable, or it failed on the conversation most recently rendered.
     */
    public boolean isFallback() {
        return fallbackReason != null;
    }

    /** One line saying why the built-in format is in use, or null when it is not. */
    public String fallbackReason() {
        return fallbackReason;
    }

    /** The template text as given (null when the model had none). */
    public String templateText() {
        return template;
    }

    @Override
    public String toString() {
        return unusableReason == null ? "ChatTemplate[jinja]" : "ChatTemplate[fallback: " + unusableReason + "]";
    }

    // ------------------------------------------------------------------ internals

    private Rendered doRender(List<ChatMessage> messages, boolean addGenerationPrompt) {
        if (converted == null) {
            return new Rendered(builtin.render(messages, addGenerationPrompt, eosText), true, unusableReason);
        }
        boolean leadingSystem = !messages.isEmpty() && messages.get(0).role().equals("system");
        if (ignoresSystem && leadingSystem) {
            List<ChatMessage> folded = BuiltinFormat.foldSystem(messages, SYSTEM_MERGE_SEPARATOR);
            JinjaEngine.Outcome o = JinjaEngine.render(converted, context(folded, addGenerationPrompt), clock);
            if (o.ok()) {
                return new Rendered(o.output(), false,
                        "chat template ignores the system role; merged the system message into the first user message");
            }
        }
        JinjaEngine.Outcome o = JinjaEngine.render(converted, context(messages, addGenerationPrompt), clock);
        if (o.ok()) {
            return new Rendered(o.output(), false, null);
        }
        if (leadingSystem) {
            List<ChatMessage> folded = BuiltinFormat.foldSystem(messages, SYSTEM_MERGE_SEPARATOR);
            JinjaEngine.Outcome retry = JinjaEngine.render(converted, context(folded, addGenerationPrompt), clock);
            if (retry.ok()) {
                return new Rendered(retry.output(), false, oneLine("chat template rejected the system message ("
                        + o.error() + "); merged it into the first user message"));
            }
        }
        return new Rendered(builtin.render(messages, addGenerationPrompt, eosText), true,
                oneLine("chat template failed on this conversation (" + o.error() + "); using built-in "
                        + builtin.displayName + " prompt format"));
    }

    /** Checks that the template renders a minimal conversation; returns the problem or null. */
    private String probe(String conv) {
        List<List<ChatMessage>> probes = List.of(
                List.of(ChatMessage.user("Hello")),
                List.of(ChatMessage.system("You are a helpful assistant."), ChatMessage.user("Hello")));
        String firstError = null;
        for (List<ChatMessage> p : probes) {
            JinjaEngine.Outcome o = JinjaEngine.render(conv, context(p, true), clock);
            if (o.ok()) {
                return o.output().isEmpty() ? "chat template renders an empty prompt" : null;
            }
            if (firstError == null) {
                firstError = o.error();
            }
        }
        return "chat template failed to render: " + firstError;
    }

    /** True when the template renders a system message without error but leaves its text out. */
    private boolean probeIgnoresSystem(String conv) {
        List<ChatMessage> p = List.of(ChatMessage.system(SYSTEM_PROBE), ChatMessage.user("Hello"));
        JinjaEngine.Outcome o = JinjaEngine.render(conv, context(p, true), clock);
        return o.ok() && !o.output().contains(SYSTEM_PROBE);
    }

    private Map<String, Object> context(List<ChatMessage> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> list = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            map.putAll(m.fields());
            list.add(map);
        }
        Map<String, Object> ctx = new HashMap<>(variables);
        ctx.put("messages", list);
        ctx.put("add_generation_prompt", addGenerationPrompt);
        ctx.put("bos_token", bosText);
        ctx.put("eos_token", eosText);
        // A global function in HF's environment, so templates may test "strftime_now is defined".
        ctx.putIfAbsent("strftime_now", "<function strftime_now>");
        return ctx;
    }

    private static String oneLine(String s) {
        String line = s.replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
        return line.length() > MAX_REASON ? line.substring(0, MAX_REASON - 3) + "..." : line;
    }
}
