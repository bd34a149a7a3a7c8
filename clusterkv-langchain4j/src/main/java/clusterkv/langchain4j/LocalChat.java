package clusterkv.langchain4j;

import clusterkv.chat.ChatMessage;
import clusterkv.chat.ChatPrompt;
import clusterkv.chat.ChatTemplate;
import clusterkv.chat.ToolCallFormat;
import clusterkv.chat.ToolMessages;
import clusterkv.generate.GenerationOptions;
import clusterkv.generate.GenerationResult;
import clusterkv.generate.LanguageModel;
import clusterkv.generate.OutputConstraint;
import clusterkv.generate.SamplingParams;
import clusterkv.generate.Session;
import clusterkv.generate.SessionOptions;
import clusterkv.grammar.JsonGrammar;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.internal.JsonSchemaElementUtils;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.request.ToolChoice;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The conversation behind both chat models: one {@link Session} whose KV cache follows the conversation. Each request
 * renders its messages with the model's chat template and keeps the longest prefix of the session they share (the
 * earlier turns, as chat memory sends them again), so a turn prefills only what is new. Tools are rendered by the
 * template and calls read back in its format (forced by a grammar when the request requires one), as the server does.
 * Requests are served one at a time.
 */
final class LocalChat implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final LanguageModel lm;
    private final boolean ownsModel;
    private final SessionOptions options;
    private final SamplingParams sampling;
    private final int maxTokens;
    private final ChatTemplate template;
    private Session session;
    private int reused;

    /** @param chatTemplate a Jinja chat template to use instead of the model's, or null */
    LocalChat(LanguageModel lm, boolean ownsModel, SessionOptions options, SamplingParams sampling, int maxTokens, String chatTemplate) {
        this.lm = lm;
        this.ownsModel = ownsModel;
        this.options = options;
        this.sampling = sampling;
        this.maxTokens = maxTokens;
        this.template = chatTemplate != null ? ChatPrompt.templateOf(chatTemplate, lm.tokenizer())
                : ChatPrompt.templateOf(lm.model().file().metadata(), lm.tokenizer());
    }

    synchronized ChatResponse chat(ChatRequest request, Consumer<String> onText) {
        ChatRequestParameters p = request.parameters();
        List<ToolSpecification> tools = p.toolSpecifications() == null ? List.of() : p.toolSpecifications();
        ChatTemplate t = template;
        ToolCallFormat format = null;
        GenerationOptions generation = generation(p);
        if (!tools.isEmpty()) {
            format = ToolCallFormat.of(template);
            if (format == null) {
                throw new UnsupportedFeatureException("this model's chat template defines no tool-call format (Llama 3.1/3.2, Qwen/Hermes or Mistral): "
                        + "give one with the builder's chatTemplate(...)");
            }
            t = template.withVariables(Map.of("tools", definitions(tools)));
            if (p.toolChoice() == ToolChoice.REQUIRED) {
                generation = generation.withConstraint(JsonGrammar.toolCall(format.prefix, format.argumentsKey, format.suffix, parameters(tools)));
            }
        }
        int[] ids = ChatPrompt.encode(lm.tokenizer(), t.render(messages(request.messages()), true));
        if (session == null) session = lm.newSession(options);
        if (ids.length >= session.contextSize()) {
            throw new IllegalArgumentException("the conversation is " + ids.length + " tokens, beyond the context of " + session.contextSize()
                    + ": use a chat memory that keeps fewer messages, or a larger context");
        }
        int[] rest = session.reuse(ids);
        reused = ids.length - rest.length;
        GenerationResult r = session.generate(rest, generation, onText, null);
        AiMessage reply = reply(r.text(), format);
        return ChatResponse.builder().aiMessage(reply).tokenUsage(new TokenUsage(ids.length, r.generatedTokens()))
                .finishReason(reply.hasToolExecutionRequests() ? FinishReason.TOOL_EXECUTION : switch (r.stopReason()) {
                    case MAX_TOKENS, CONTEXT_FULL -> FinishReason.LENGTH;
                    case END_OF_TEXT, STOP_STRING -> FinishReason.STOP;
                }).build();
    }

    /** The reply, its tool calls read in the template's format. */
    private static AiMessage reply(String text, ToolCallFormat format) {
        if (format == null) return AiMessage.from(text);
        ToolCallFormat.Reply reply = format.parse(text);
        if (reply.calls().isEmpty()) return AiMessage.from(text);
        List<ToolExecutionRequest> requests = new ArrayList<>();
        for (ToolCallFormat.ToolCall c : reply.calls()) {
            requests.add(ToolExecutionRequest.builder().id(ToolMessages.newCallId())
                    .name(c.name()).arguments(c.arguments()).build());
        }
        return reply.content().isEmpty() ? AiMessage.from(requests) : AiMessage.from(reply.content(), requests);
    }

    /** The tools as templates take them: OpenAI's {"type": "function", "function": {name, description, parameters}}. */
    private static List<Object> definitions(List<ToolSpecification> tools) {
        List<Object> list = new ArrayList<>();
        for (ToolSpecification spec : tools) {
            Map<String, Object> function = new LinkedHashMap<>();
            function.put("name", spec.name());
            if (spec.description() != null) function.put("description", spec.description());
            function.put("parameters", spec.parameters() == null ? Map.of("type", "object", "properties", Map.of()) : JsonSchemaElementUtils.toMap(spec.parameters()));
            list.add(Map.of("type", "function", "function", function));
        }
        return list;
    }

    /** Each tool's parameter schema (null: any object), for the grammar of a required call. */
    private static Map<String, JsonNode> parameters(List<ToolSpecification> tools) {
        Map<String, JsonNode> map = new LinkedHashMap<>();
        for (ToolSpecification spec : tools) {
            map.put(spec.name(), spec.parameters() == null ? null : JSON.valueToTree(JsonSchemaElementUtils.toMap(spec.parameters())));
        }
        return map;
    }

    /** Prompt tokens of the latest request that the session already held (not prefilled again). */
    synchronized int reusedTokens() {
        return reused;
    }

    private GenerationOptions generation(ChatRequestParameters p) {
        SamplingParams s = sampling;
        if (p.temperature() != null) s = s.withTemperature(p.temperature().floatValue());
        if (p.topP() != null || p.topK() != null) {
            s = new SamplingParams(s.temperature(), p.topK() != null ? p.topK() : s.topK(), p.topP() != null ? p.topP().floatValue() : s.topP(),
                    s.minP(), s.repeatPenalty(), s.repeatLastN(), s.seed(), s.presencePenalty(), s.frequencyPenalty());
        }
        int max = p.maxOutputTokens() != null ? p.maxOutputTokens() : maxTokens;
        List<String> stops = p.stopSequences() == null ? List.of() : p.stopSequences();
        return new GenerationOptions(max, s, stops, constraint(p.responseFormat()));
    }

    /** JSON output: held to the request's schema, or to any object when it has none. */
    private static OutputConstraint constraint(ResponseFormat format) {
        if (format == null || format.type() != ResponseFormatType.JSON) return null;
        if (format.jsonSchema() == null || format.jsonSchema().rootElement() == null) return JsonGrammar.anyObject();
        return JsonGrammar.fromSchema(JSON.valueToTree(JsonSchemaElementUtils.toMap(format.jsonSchema().rootElement(), true)));
    }

    private static List<ChatMessage> messages(List<dev.langchain4j.data.message.ChatMessage> in) {
        List<ChatMessage> out = new ArrayList<>(in.size());
        for (var m : in) {
            out.add(switch (m) {
                case SystemMessage s -> ChatMessage.system(s.text());
                case UserMessage u -> ChatMessage.user(u.singleText());
                case AiMessage a -> new ChatMessage("assistant", a.text(), ToolMessages.fields(a.hasToolExecutionRequests()
                        ? a.toolExecutionRequests().stream().map(r -> new ToolMessages.Call(r.id(), r.name(), r.arguments())).toList() : List.of(), null, null));
                case ToolExecutionResultMessage t -> new ChatMessage("tool", t.text(), ToolMessages.fields(List.of(), t.id(), t.toolName()));
                default -> throw new UnsupportedFeatureException("unsupported message type " + m.type());
            });
        }
        return out;
    }

    @Override
    public synchronized void close() {
        if (session != null) session.close();
        session = null;
        if (ownsModel) lm.close();
    }
}
