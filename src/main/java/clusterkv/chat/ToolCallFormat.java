package clusterkv.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a chat template's model writes a tool call, as the template itself renders past calls: Llama 3.1/3.2's bare
 * JSON object with "parameters", Qwen 2.5/3's (Hermes) {@code <tool_call>} tags, Mistral's {@code [TOOL_CALLS]} list.
 * Each format reads a reply back into its calls, and gives the fixed text around one call, from which a grammar
 * forces a call when the request requires one.
 *
 * @param prefix       the text before a call's {@code {"name": ...}} object
 * @param argumentsKey the key of the arguments in that object
 * @param suffix       the text after the object
 */
public enum ToolCallFormat {
    LLAMA3("", "parameters", ""),
    HERMES("<tool_call>\n", "arguments", "\n</tool_call>"),
    MISTRAL("[TOOL_CALLS] [", "arguments", "]");

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern HERMES_CALL = Pattern.compile("<tool_call>\\s*(\\{.*?})\\s*</tool_call>", Pattern.DOTALL);

    public final String prefix, argumentsKey, suffix;

    ToolCallFormat(String prefix, String argumentsKey, String suffix) {
        this.prefix = prefix;
        this.argumentsKey = argumentsKey;
        this.suffix = suffix;
    }

    /** One call: the function's name and its arguments as JSON text (OpenAI sends and expects a string). */
    public record ToolCall(String name, String arguments) {}

    /** A reply read back: the text outside the calls, and the calls. */
    public record Reply(String content, List<ToolCall> calls) {}

    /** The format a chat template renders past tool calls in; null when it renders none known, or is the built-in fallback. */
    public static ToolCallFormat of(ChatTemplate template) {
        return template.isFallback() ? null : of(template.templateText());
    }

    /** The format the template text renders past tool calls in, or null when it renders none that is known. */
    public static ToolCallFormat of(String template) {
        if (template == null) return null;
        if (template.contains("<tool_call>")) return HERMES;
        if (template.contains("[TOOL_CALLS]")) return MISTRAL;
        if (template.contains("\"parameters\": ") || template.contains("<|python_tag|>")) return LLAMA3;
        return null;
    }

    /** The calls in a reply; a reply that holds none is all content. */
    public Reply parse(String text) {
        return switch (this) {
            case HERMES -> hermes(text);
            case LLAMA3 -> whole(text.replace("<|python_tag|>", "").strip(), false);
            case MISTRAL -> whole(text.replace("[TOOL_CALLS]", "").strip(), true);
        };
    }

    private Reply hermes(String text) {
        List<ToolCall> calls = new ArrayList<>();
        StringBuilder content = new StringBuilder();
        Matcher m = HERMES_CALL.matcher(text);
        int last = 0;
        while (m.find()) {
            ToolCall call = call(m.group(1));
            if (call == null) continue; // not a call after all: it stays in the content
            content.append(text, last, m.start());
            calls.add(call);
            last = m.end();
        }
        content.append(text.substring(last));
        return new Reply(calls.isEmpty() ? text : content.toString().strip(), calls);
    }

    /** Llama and Mistral write calls as the whole reply: an object, or a list of them. */
    private Reply whole(String text, boolean list) {
        List<ToolCall> calls = new ArrayList<>();
        try {
            JsonNode node = JSON.readTree(text);
            for (JsonNode c : list && node != null && node.isArray() ? node : List.of(node == null ? JSON.nullNode() : node)) {
                ToolCall call = call(c);
                if (call == null) return new Reply(text, List.of());
                calls.add(call);
            }
        } catch (Exception e) {
            return new Reply(text, List.of());
        }
        return new Reply("", calls);
    }

    private ToolCall call(String json) {
        try {
            return call(JSON.readTree(json));
        } catch (Exception e) {
            return null;
        }
    }

    private ToolCall call(JsonNode c) {
        if (c == null || !c.isObject() || !c.path("name").isTextual()) return null;
        JsonNode arguments = c.has(argumentsKey) ? c.get(argumentsKey) : c.has("arguments") ? c.get("arguments") : c.get("parameters");
        if (arguments == null) arguments = JSON.createObjectNode();
        return new ToolCall(c.get("name").textValue(), arguments.isTextual() ? arguments.textValue() : arguments.toString());
    }
}
