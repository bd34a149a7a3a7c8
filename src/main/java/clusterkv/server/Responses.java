package clusterkv.server;

import clusterkv.chat.ToolCallFormat;
import clusterkv.chat.ToolMessages;
import clusterkv.generate.StopReason;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/** The JSON bodies of OpenAI's responses: completions, stream chunks, usage, the model list. */
final class Responses {

    /** What every chunk of one response shares. */
    record Id(String id, long created) {
        static Id next(boolean chat) {
            byte[] random = new byte[12];
            ThreadLocalRandom.current().nextBytes(random);
            return new Id((chat ? "chatcmpl-" : "cmpl-") + HexFormat.of().formatHex(random), System.currentTimeMillis() / 1000);
        }
    }

    private final ObjectMapper json;
    private final String model;

    Responses(ObjectMapper json, String model) {
        this.json = json;
        this.model = model;
    }

    /** OpenAI's two reasons: "length" when a limit cut the text (max_tokens, the context), "stop" otherwise. */
    static String finishReason(StopReason r) {
        return switch (r) {
            case MAX_TOKENS, CONTEXT_FULL -> "length";
            case END_OF_TEXT, STOP_STRING -> "stop";
        };
    }

    /** A whole (non-streamed) chat.completion or text_completion; with tools, the reply's calls as tool_calls. */
    ObjectNode completion(boolean chat, Id id, Event.Done done, ToolCallFormat tools) {
        ObjectNode body = head(chat ? "chat.completion" : "text_completion", id);
        ObjectNode choice = body.putArray("choices").addObject();
        choice.put("index", 0);
        ToolCallFormat.Reply reply = tools == null ? null : tools.parse(done.text());
        boolean calls = reply != null && !reply.calls().isEmpty();
        if (chat) {
            ObjectNode message = choice.putObject("message");
            message.put("role", "assistant");
            if (!calls) message.put("content", done.text());
            else if (reply.content().isEmpty()) message.putNull("content");
            else message.put("content", reply.content());
            if (calls) message.set("tool_calls", toolCalls(reply, false));
        } else {
            choice.put("text", done.text());
        }
        choice.putNull("logprobs");
        choice.put("finish_reason", calls ? "tool_calls" : finishReason(done.reason()));
        body.set("usage", usage(done.usage()));
        return body;
    }

    /** OpenAI's tool_calls: an id per call, the arguments as JSON text; in a stream delta each call has its index. */
    com.fasterxml.jackson.databind.node.ArrayNode toolCalls(ToolCallFormat.Reply reply, boolean indexed) {
        var array = json.createArrayNode();
        for (int i = 0; i < reply.calls().size(); i++) {
            ToolCallFormat.ToolCall call = reply.calls().get(i);
            ObjectNode c = array.addObject();
            if (indexed) c.put("index", i);
            c.put("id", ToolMessages.newCallId());
            c.put("type", "function");
            ObjectNode f = c.putObject("function");
            f.put("name", call.name());
            f.put("arguments", call.arguments());
        }
        return array;
    }

    /** The stream chunk that carries a reply's tool calls. */
    ObjectNode toolCallChunk(Id id, ToolCallFormat.Reply reply, boolean includeUsage) {
        ObjectNode body = head("chat.completion.chunk", id);
        ObjectNode choice = body.putArray("choices").addObject();
        choice.put("index", 0);
        choice.putObject("delta").set("tool_calls", toolCalls(reply, true));
        choice.putNull("logprobs");
        choice.putNull("finish_reason");
        if (includeUsage) body.putNull("usage");
        return body;
    }

    /**
     * One stream chunk: a chat delta (with the role on the first) or a text piece, and the finish reason on the last.
     * With include_usage every chunk carries "usage": null, as OpenAI's do, until the usage chunk.
     */
    ObjectNode chunk(boolean chat, Id id, String role, String text, String finish, boolean includeUsage) {
        ObjectNode body = head(chat ? "chat.completion.chunk" : "text_completion", id);
        ObjectNode choice = body.putArray("choices").addObject();
        choice.put("index", 0);
        if (chat) {
            ObjectNode delta = choice.putObject("delta");
            if (role != null) delta.put("role", role);
            if (text != null) delta.put("content", text);
        } else {
            choice.put("text", text == null ? "" : text);
        }
        choice.putNull("logprobs");
        if (finish == null) choice.putNull("finish_reason");
        else choice.put("finish_reason", finish);
        if (includeUsage) body.putNull("usage");
        return body;
    }

    /** The extra last chunk of stream_options.include_usage: no choices, the usage. */
    ObjectNode usageChunk(boolean chat, Id id, Usage usage) {
        ObjectNode body = head(chat ? "chat.completion.chunk" : "text_completion", id);
        body.putArray("choices");
        body.set("usage", usage(usage));
        return body;
    }

    ObjectNode usage(Usage u) {
        ObjectNode usage = json.createObjectNode();
        usage.put("prompt_tokens", u.promptTokens());
        usage.put("completion_tokens", u.completionTokens());
        usage.put("total_tokens", u.totalTokens());
        usage.putObject("prompt_tokens_details").put("cached_tokens", u.cachedTokens());
        return usage;
    }

    ObjectNode models(long created) {
        ObjectNode body = json.createObjectNode();
        body.put("object", "list");
        ObjectNode m = body.putArray("data").addObject();
        m.put("id", model);
        m.put("object", "model");
        m.put("created", created);
        m.put("owned_by", "clusterkv");
        return body;
    }

    private ObjectNode head(String object, Id id) {
        ObjectNode body = json.createObjectNode();
        body.put("id", id.id());
        body.put("object", object);
        body.put("created", id.created());
        body.put("model", model);
        return body;
    }
}
