package clusterkv.server;

import clusterkv.chat.ChatMessage;
import clusterkv.chat.ChatPrompt;
import clusterkv.chat.ChatTemplate;
import clusterkv.chat.ToolCallFormat;
import clusterkv.chat.ToolMessages;
import clusterkv.generate.GenerationOptions;
import clusterkv.generate.OutputConstraint;
import clusterkv.grammar.JsonGrammar;
import clusterkv.grammar.JsonSchemaException;
import clusterkv.generate.SamplingParams;
import clusterkv.generate.SessionOptions;
import clusterkv.kv.KVFormat;
import clusterkv.kv.KVType;
import clusterkv.kv.PolicyConfig;
import clusterkv.kv.policy.KVPolicies;
import clusterkv.tokenizer.Tokenizer;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Reads the body of a completion request into a {@link CompletionRequest}: every field type-checked and
 * range-checked (errors name the field), the prompt rendered and tokenized, its length checked against
 * the context: first by its UTF-8 bytes, before tokenizing (a prompt longer than the context times the longest
 * token cannot fit, and tokenizing megabytes only to learn that would be the cost an abuser wants), then by tokens. Defaults follow OpenAI's API where it has one (16 tokens for text completions, no limit
 * but the context for chat) and llama.cpp's sampling defaults otherwise. Unknown fields are ignored, as
 * OpenAI clients send many. Thread-safe: handlers call it on their own threads.
 */
final class Requests {

    /** More stop strings than this is a mistake, not a use. */
    private static final int MAX_STOPS = 16;
    /** OpenAI's own limit on tools per request. */
    private static final int MAX_TOOLS = 128;
    private static final int COMPLETION_DEFAULT_MAX_TOKENS = 16;
    /** Strings this short always parse, however small the context: the field checks give the better error. */
    private static final int MIN_STRING_CHARS = 4096;

    /** Trailing garbage makes a body something other than the JSON object it starts with: refused, not ignored. */
    private final ObjectReader json;
    private final Tokenizer tokenizer;
    private final ChatTemplate template;
    private final SessionOptions defaults;
    /** The KV types a request may name in kv_type: the server's own and those it was started to allow. */
    private final Set<KVType> kvTypes;
    private final int headDim;
    private final int contextSize;
    /** A prompt of more UTF-8 bytes than this needs at least contextSize tokens. */
    private final long maxPromptBytes;

    Requests(ObjectMapper json, Tokenizer tokenizer, ChatTemplate template, SessionOptions defaults, Set<KVType> kvTypes, int headDim,
             int contextSize, int slots) {
        this.slots = slots;
        this.headDim = headDim;
        this.tokenizer = tokenizer;
        this.template = template;
        this.defaults = defaults;
        this.kvTypes = EnumSet.of(defaults.kvFormat().keys(), defaults.kvFormat().values());
        this.kvTypes.addAll(kvTypes);
        this.contextSize = contextSize;
        this.maxPromptBytes = (long) Math.max(0, contextSize - 1) * longestToken(tokenizer);
        this.json = json.copyWith(JsonFactory.builder().streamReadConstraints(StreamReadConstraints.builder()
                .maxStringLength(maxStringChars()).build()).build()).reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    }

    /**
     * No string in a request can be longer than a prompt that fits: the parser stops at the first that is, instead of
     * building it (megabytes, for an abuser) only for the byte check to refuse it. A character is at least a byte.
     */
    private int maxStringChars() {
        return (int) Math.min(Integer.MAX_VALUE, Math.max(MIN_STRING_CHARS, maxPromptBytes));
    }

    /**
     * The most input bytes one token can stand for: its spelling in the vocabulary is never shorter than the text it
     * encodes ('▁' is 3 bytes for a space, GPT-2's byte alphabet 1-2 bytes per byte), and at least one character of
     * up to 4 bytes, which an unknown token may stand for.
     */
    private static long longestToken(Tokenizer tokenizer) {
        long longest = 4;
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            longest = Math.max(longest, Math.max(Utf8.length(tokenizer.tokenText(id)), tokenizer.tokenBytes(id, true).length));
        }
        return longest;
    }

    /** Slots a request may name in id_slot (the server's --parallel). */
    private final int slots;

    CompletionRequest parse(boolean chat, byte[] body) {
        ObjectNode o = object(body);
        string(o, "model"); // any model name is accepted: there is one
        Integer n = integer(o, "n", 1, Integer.MAX_VALUE);
        if (n != null && n != 1) throw ApiError.badRequest("n", "n must be 1: one choice per request is supported");
        GenerationOptions generation = generation(o, chat);
        SessionOptions session = session(o);
        boolean stream = bool(o, "stream", false);
        boolean includeUsage = stream && o.hasNonNull("stream_options")
                && bool(object(o, "stream_options"), "include_usage", false, "stream_options.include_usage");
        Integer slot = integer(o, "id_slot", -1, slots - 1);
        Tools tools = chat ? tools(o) : Tools.NONE;
        if (tools.forced() != null) generation = generation.withConstraint(tools.forced());
        return new CompletionRequest(chat, prompt(o, chat, tools), generation, session, stream, includeUsage, slot == null ? -1 : slot, tools.format());
    }

    /** The prompt's tokens: the chat rendered with the model's template, or the text with BOS as the model wants. */
    private int[] prompt(ObjectNode o, boolean chat, Tools tools) {
        String field = chat ? "messages" : "prompt";
        int[] prompt;
        if (chat) {
            List<ChatMessage> messages = messages(o);
            checkBytes(field, messages.stream().mapToLong(m -> Utf8.length(m.role()) + Utf8.length(m.content())).sum());
            ChatTemplate t = tools.definitions() == null ? template : template.withVariables(Map.of("tools", tools.definitions()));
            prompt = ChatPrompt.encode(tokenizer, t.render(messages, true));
        } else {
            String text = text(o);
            checkBytes(field, Utf8.length(text));
            prompt = tokenizer.encode(text, true, false);
        }
        if (prompt.length == 0) throw ApiError.badRequest(field, field + " is empty");
        if (prompt.length >= contextSize) throw ApiError.contextExceeded(field, prompt.length, contextSize);
        return prompt;
    }

    /** Refuses, before rendering or tokenizing it, a prompt that has more bytes than the context has room for. */
    private void checkBytes(String field, long bytes) {
        if (bytes > maxPromptBytes) throw ApiError.promptTooLong(field, bytes, maxPromptBytes, contextSize);
    }

    private ObjectNode object(byte[] body) {
        JsonNode root;
        try {
            root = json.readTree(body);
        } catch (StreamConstraintsException e) {
            throw ApiError.stringTooLong(maxStringChars(), maxPromptBytes, contextSize);
        } catch (JacksonException e) {
            throw ApiError.badRequest(null, "malformed JSON in the request body: " + e.getOriginalMessage());
        } catch (java.io.IOException e) {
            throw ApiError.badRequest(null, "unreadable request body: " + e.getMessage());
        }
        if (root == null || !root.isObject()) throw ApiError.badRequest(null, "the request body must be a JSON object");
        return (ObjectNode) root;
    }

    private static ObjectNode object(ObjectNode o, String name) {
        JsonNode v = o.get(name);
        if (!v.isObject()) throw ApiError.badRequest(name, name + " must be an object");
        return (ObjectNode) v;
    }

    // ---------------------------------------------------------------- prompt

    private static String text(ObjectNode o) {
        JsonNode v = o.get("prompt");
        if (v == null || v.isNull()) throw ApiError.badRequest("prompt", "prompt is required");
        if (!v.isTextual()) throw ApiError.badRequest("prompt", "prompt must be a string");
        return v.textValue();
    }

    private static List<ChatMessage> messages(ObjectNode o) {
        JsonNode v = o.get("messages");
        if (v == null || v.isNull()) throw ApiError.badRequest("messages", "messages is required");
        if (!v.isArray() || v.isEmpty()) throw ApiError.badRequest("messages", "messages must be a non-empty array");
        List<ChatMessage> messages = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            String at = "messages[" + i + "]";
            JsonNode m = v.get(i);
            if (!m.isObject()) throw ApiError.badRequest(at, at + " must be an object");
            JsonNode role = m.get("role");
            if (role == null || !role.isTextual() || role.textValue().isEmpty()) {
                throw ApiError.badRequest(at + ".role", at + ".role must be a non-empty string");
            }
            messages.add(new ChatMessage(role.textValue(), content(m.get("content"), at + ".content"), toolFields(m, at)));
        }
        return messages;
    }

    /** What a template needs of a tool-calling turn: an assistant's tool_calls, a tool result's tool_call_id and name. */
    private static Map<String, Object> toolFields(JsonNode m, String at) {
        List<ToolMessages.Call> calls = new ArrayList<>();
        JsonNode list = m.get("tool_calls");
        if (list != null && !list.isNull()) {
            if (!list.isArray()) throw ApiError.badRequest(at + ".tool_calls", at + ".tool_calls must be an array");
            for (int i = 0; i < list.size(); i++) {
                JsonNode c = list.get(i), f = c.path("function"), arguments = f.get("arguments");
                String where = at + ".tool_calls[" + i + "]";
                if (!f.path("name").isTextual()) throw ApiError.badRequest(where, where + ".function.name must be a string");
                String text = arguments == null || arguments.isNull() ? null : arguments.isTextual() ? arguments.textValue() : arguments.toString();
                calls.add(new ToolMessages.Call(c.path("id").isTextual() ? c.get("id").textValue() : null, f.get("name").textValue(), text));
            }
        }
        return ToolMessages.fields(calls, optionalString(m, "tool_call_id", at), optionalString(m, "name", at));
    }

    private static String optionalString(JsonNode m, String name, String at) {
        JsonNode v = m.get(name);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw ApiError.badRequest(at + "." + name, at + "." + name + " must be a string");
        return v.textValue();
    }

    private static final ObjectMapper TOOL_JSON = new ObjectMapper();

    // ---------------------------------------------------------------- tools

    /**
     * The request's tools: their definitions for the template (null: none offered), the format calls are read in,
     * and the grammar that forces a call (tool_choice "required" or a named function), or null.
     */
    private record Tools(List<Object> definitions, ToolCallFormat format, OutputConstraint forced) {
        static final Tools NONE = new Tools(null, null, null);
    }

    private Tools tools(ObjectNode o) {
        JsonNode tools = o.get("tools");
        if (tools == null || tools.isNull() || tools.isArray() && tools.isEmpty()) return Tools.NONE;
        if (!tools.isArray()) throw ApiError.badRequest("tools", "tools must be an array of {\"type\": \"function\", \"function\": {...}}");
        if (tools.size() > MAX_TOOLS) throw ApiError.badRequest("tools", "at most " + MAX_TOOLS + " tools, as OpenAI's API allows; got " + tools.size());
        Map<String, JsonNode> functions = new LinkedHashMap<>();
        for (int i = 0; i < tools.size(); i++) {
            JsonNode t = tools.get(i), f = t.path("function");
            String at = "tools[" + i + "]";
            if (!"function".equals(t.path("type").asText()) || !f.isObject()) throw ApiError.badRequest("tools", at + " must be {\"type\": \"function\", \"function\": {...}}");
            if (!f.path("name").isTextual() || f.get("name").textValue().isEmpty()) throw ApiError.badRequest("tools", at + ".function.name must be a non-empty string");
            JsonNode parameters = f.get("parameters");
            if (parameters != null && !parameters.isNull() && !parameters.isObject()) throw ApiError.badRequest("tools", at + ".function.parameters must be a JSON schema object");
            if (functions.put(f.get("name").textValue(), parameters == null || parameters.isNull() ? null : parameters) != null) {
                throw ApiError.badRequest("tools", "two tools are named " + f.get("name").textValue());
            }
        }
        String choice = toolChoice(o.get("tool_choice"), functions);
        if (choice.equals("none")) return Tools.NONE;
        ToolCallFormat format = ToolCallFormat.of(template);
        if (format == null) {
            throw ApiError.badRequest("tools", "this model's chat template defines no tool-call format (supported: Llama 3.1/3.2 JSON, Qwen/Hermes <tool_call>, "
                    + "Mistral [TOOL_CALLS]; serve --chat-template-file can give one)");
        }
        OutputConstraint forced = null;
        if (!choice.equals("auto")) {
            Map<String, JsonNode> callable = choice.equals("required") ? functions : Map.of(choice, functions.get(choice));
            try {
                forced = JsonGrammar.toolCall(format.prefix, format.argumentsKey, format.suffix, new LinkedHashMap<>(callable));
            } catch (JsonSchemaException e) {
                throw ApiError.badRequest("tools", "tools: " + e.getMessage());
            }
        }
        return new Tools(TOOL_JSON.convertValue(tools, List.class), format, forced);
    }

    /** "none", "auto", "required", or the name of the function that must be called. */
    private static String toolChoice(JsonNode v, Map<String, JsonNode> functions) {
        if (v == null || v.isNull()) return "auto";
        if (v.isTextual() && Set.of("none", "auto", "required").contains(v.textValue())) return v.textValue();
        String name = v.path("function").path("name").asText(null);
        if (!v.isObject() || name == null) {
            throw ApiError.badRequest("tool_choice", "tool_choice must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}");
        }
        if (!functions.containsKey(name)) throw ApiError.badRequest("tool_choice", "tool_choice names " + name + ", which is not among the tools");
        return name;
    }

    /** A string, null, or OpenAI's array of content parts, of which only text parts are supported. */
    private static String content(JsonNode v, String at) {
        if (v == null || v.isNull()) return "";
        if (v.isTextual()) return v.textValue();
        if (!v.isArray()) throw ApiError.badRequest(at, at + " must be a string or an array of text parts");
        StringBuilder text = new StringBuilder();
        for (JsonNode part : v) {
            JsonNode type = part.get("type"), t = part.get("text");
            if (!part.isObject() || type == null || !"text".equals(type.asText()) || t == null || !t.isTextual()) {
                throw ApiError.badRequest(at, at + ": only parts {\"type\": \"text\", \"text\": \"...\"} are supported");
            }
            text.append(t.textValue());
        }
        return text.toString();
    }

    // ---------------------------------------------------------------- generation

    private GenerationOptions generation(ObjectNode o, boolean chat) {
        Integer max = integer(o, "max_tokens", 0, Integer.MAX_VALUE);
        Integer maxCompletion = integer(o, "max_completion_tokens", 0, Integer.MAX_VALUE); // OpenAI's newer name
        int maxTokens = max != null ? max : maxCompletion != null ? maxCompletion : chat ? Integer.MAX_VALUE : COMPLETION_DEFAULT_MAX_TOKENS;
        SamplingParams d = SamplingParams.DEFAULT;
        float temperature = number(o, "temperature", d.temperature(), 0, 2);
        float topP = number(o, "top_p", d.topP(), 0, 1);
        if (topP == 0) { // OpenAI accepts 0: only the most likely token is left
            topP = 1;
            temperature = 0;
        }
        Integer topK = integer(o, "top_k", 0, Integer.MAX_VALUE);
        float minP = number(o, "min_p", d.minP(), 0, 1);
        float presence = number(o, "presence_penalty", 0, -2, 2);
        float frequency = number(o, "frequency_penalty", 0, -2, 2);
        Long seed = seed(o);
        var sampling = new SamplingParams(temperature, topK != null ? topK : d.topK(), topP, minP, d.repeatPenalty(), d.repeatLastN(),
                seed != null ? seed : d.seed(), presence, frequency);
        return new GenerationOptions(maxTokens, sampling, stops(o), responseFormat(o));
    }

    // ---------------------------------------------------------------- structured output

    /** Compiled schemas by their JSON: a client sends the same few again and again, and each grammar keeps its masks. */
    private final Map<JsonNode, JsonGrammar> grammars = new LinkedHashMap<>(16, 0.75f, true) {
        protected boolean removeEldestEntry(Map.Entry<JsonNode, JsonGrammar> eldest) {
            return size() > 32;
        }
    };

    /**
     * OpenAI's response_format ({"type": "text" | "json_object" | "json_schema", "json_schema": {"schema": ...}}),
     * and llama-server's json_schema field and the schema it accepts beside json_object.
     */
    private OutputConstraint responseFormat(ObjectNode o) {
        JsonNode f = o.get("response_format");
        if (f == null || f.isNull()) return o.hasNonNull("json_schema") ? grammar(o.get("json_schema"), "json_schema") : null;
        if (!f.isObject()) throw ApiError.badRequest("response_format", "response_format must be an object");
        JsonNode type = f.get("type");
        String t = type == null || !type.isTextual() ? "" : type.textValue();
        return switch (t) {
            case "text" -> null;
            case "json_object" -> f.hasNonNull("schema") ? grammar(f.get("schema"), "response_format.schema") : JsonGrammar.anyObject();
            case "json_schema" -> {
                JsonNode js = f.get("json_schema");
                if (js == null || !js.isObject() || !js.hasNonNull("schema")) {
                    throw ApiError.badRequest("response_format", "response_format.json_schema must be an object with the schema in \"schema\"");
                }
                yield grammar(js.get("schema"), "response_format.json_schema.schema");
            }
            default -> throw ApiError.badRequest("response_format", "response_format.type must be \"text\", \"json_object\" or \"json_schema\"");
        };
    }

    private JsonGrammar grammar(JsonNode schema, String param) {
        synchronized (grammars) {
            JsonGrammar known = grammars.get(schema);
            if (known != null) return known;
        }
        JsonGrammar g;
        try {
            g = JsonGrammar.fromSchema(schema);
        } catch (JsonSchemaException e) {
            throw ApiError.badRequest(param.substring(0, (param + ".").indexOf('.')), param + ": " + e.getMessage());
        }
        synchronized (grammars) {
            grammars.put(schema.deepCopy(), g);
        }
        return g;
    }

    private static Long seed(ObjectNode o) {
        JsonNode v = o.get("seed");
        if (v == null || v.isNull()) return null;
        if (!v.isIntegralNumber() || !v.canConvertToLong()) throw ApiError.badRequest("seed", "seed must be an integer");
        return v.longValue();
    }

    private static List<String> stops(ObjectNode o) {
        JsonNode v = o.get("stop");
        if (v == null || v.isNull()) return List.of();
        if (v.isTextual()) return List.of(v.textValue());
        if (!v.isArray() || v.size() > MAX_STOPS) throw ApiError.badRequest("stop", "stop must be a string or an array of at most " + MAX_STOPS + " strings");
        List<String> stops = new ArrayList<>();
        for (JsonNode s : v) {
            if (!s.isTextual()) throw ApiError.badRequest("stop", "stop must be a string or an array of strings");
            stops.add(s.textValue());
        }
        return stops;
    }

    // ---------------------------------------------------------------- KV policy

    /**
     * The server's session options with the request's kv_policy, kv_budget and kv_type, checked by building the
     * policy; kv_type sets keys and values, rotated as by default for that type.
     */
    private SessionOptions session(ObjectNode o) {
        String policy = string(o, "kv_policy");
        Integer budget = integer(o, "kv_budget", 1, Integer.MAX_VALUE);
        SessionOptions base = withKvType(string(o, "kv_type"));
        if (policy == null && budget == null) return base;
        if (policy != null && !KVPolicies.NAMES.contains(policy)) {
            throw ApiError.badRequest("kv_policy", "unknown kv_policy '" + policy + "' (known: " + String.join(", ", KVPolicies.NAMES) + ")");
        }
        PolicyConfig config = budget == null ? defaults.policyConfig() : defaults.policyConfig().withBudget(budget);
        SessionOptions options = base.withPolicy(policy != null ? policy : defaults.kvPolicy(), config);
        try {
            KVPolicies.create(options.kvPolicy(), options.policyConfig());
        } catch (IllegalArgumentException e) {
            String param = budget != null ? "kv_budget" : "kv_policy";
            throw ApiError.badRequest(param, param + ": " + e.getMessage().replace("--kv-budget", "kv_budget"));
        }
        return options;
    }

    private SessionOptions withKvType(String name) {
        if (name == null) return defaults;
        KVType type;
        try {
            type = KVType.parse(name);
        } catch (IllegalArgumentException e) {
            throw ApiError.badRequest("kv_type", "kv_type: " + e.getMessage());
        }
        if (!kvTypes.contains(type)) {
            throw ApiError.badRequest("kv_type", "kv_type " + type.label() + " is not allowed on this server (allowed: "
                    + kvTypes.stream().map(KVType::label).collect(Collectors.joining(", ")) + "; serve --kv-types allows more)");
        }
        KVFormat format = KVFormat.parse(name, null, null, null);
        if (format.equals(defaults.kvFormat())) return defaults;
        try {
            format.check(headDim);
        } catch (IllegalArgumentException e) {
            throw ApiError.badRequest("kv_type", e.getMessage().replace(": use --kv-type f16 or f32", ""));
        }
        return defaults.withKvFormat(format);
    }

    // ---------------------------------------------------------------- typed fields

    private static String string(ObjectNode o, String name) {
        JsonNode v = o.get(name);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw ApiError.badRequest(name, name + " must be a string");
        return v.textValue();
    }

    private static boolean bool(ObjectNode o, String name, boolean absent) {
        return bool(o, name, absent, name);
    }

    private static boolean bool(ObjectNode o, String name, boolean absent, String param) {
        JsonNode v = o.get(name);
        if (v == null || v.isNull()) return absent;
        if (!v.isBoolean()) throw ApiError.badRequest(param, param + " must be a boolean");
        return v.booleanValue();
    }

    /** An integer field in [min, max], or null when absent. */
    private static Integer integer(ObjectNode o, String name, int min, int max) {
        JsonNode v = o.get(name);
        if (v == null || v.isNull()) return null;
        if (!v.isIntegralNumber()) throw ApiError.badRequest(name, name + " must be an integer");
        if (!v.canConvertToInt() || v.intValue() < min || v.intValue() > max) {
            throw ApiError.badRequest(name, name + " must be " + (max == Integer.MAX_VALUE ? ">= " + min : "in [" + min + ", " + max + "]") + ", got " + v);
        }
        return v.intValue();
    }

    private static float number(ObjectNode o, String name, float absent, float min, float max) {
        JsonNode v = o.get(name);
        if (v == null || v.isNull()) return absent;
        if (!v.isNumber()) throw ApiError.badRequest(name, name + " must be a number");
        double x = v.doubleValue();
        if (!(x >= min && x <= max)) throw ApiError.badRequest(name, name + " must be in [" + min + ", " + max + "], got " + v);
        return (float) x;
    }
}
