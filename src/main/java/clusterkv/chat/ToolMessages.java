package clusterkv.chat;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Tool calls and tool results as chat templates see them on messages, HF's convention: an assistant turn's
 * {@code tool_calls} (each {@code {id, type: "function", function: {name, arguments}}}, the arguments an object, as
 * templates write them with {@code tojson}), a tool turn's {@code tool_call_id} and {@code name}.
 */
public final class ToolMessages {

    private static final ObjectMapper JSON = new ObjectMapper();

    private ToolMessages() {}

    /** One call of an assistant turn: its id (null when unknown), the function, its arguments as JSON text. */
    public record Call(String id, String name, String arguments) {}

    /** The fields of a message: its calls (none: empty), and for a tool result the call it answers and the tool's name (or null). */
    public static Map<String, Object> fields(List<Call> calls, String toolCallId, String name) {
        Map<String, Object> fields = new LinkedHashMap<>();
        if (toolCallId != null) fields.put("tool_call_id", toolCallId);
        if (name != null) fields.put("name", name);
        if (!calls.isEmpty()) {
            List<Object> list = new ArrayList<>();
            for (Call c : calls) {
                Map<String, Object> function = new LinkedHashMap<>(); // name first, as models saw calls in training
                function.put("name", c.name());
                function.put("arguments", arguments(c.arguments()));
                Map<String, Object> call = new LinkedHashMap<>();
                if (c.id() != null) call.put("id", c.id());
                call.put("type", "function");
                call.put("function", function);
                list.add(call);
            }
            fields.put("tool_calls", list);
        }
        return fields;
    }

    /** A new call id: nine letters and digits, the form Mistral's templates require when a call comes back. */
    public static String newCallId() {
        String alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        StringBuilder id = new StringBuilder();
        for (int i = 0; i < 9; i++) id.append(alphabet.charAt(java.util.concurrent.ThreadLocalRandom.current().nextInt(alphabet.length())));
        return id.toString();
    }

    /** Arguments sent as JSON text become an object; text that is not JSON stays text. */
    private static Object arguments(String text) {
        if (text == null || text.isBlank()) return Map.of();
        try {
            return JSON.readValue(text, Object.class);
        } catch (Exception e) {
            return text;
        }
    }
}
