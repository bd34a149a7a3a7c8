package clusterkv.langchain4j;

import clusterkv.generate.LanguageModel;
import clusterkv.generate.SamplingParams;
import clusterkv.generate.SessionOptions;
import clusterkv.kv.KVFormat;
import clusterkv.kv.PolicyConfig;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * A LangChain4j {@link ChatModel} that runs a GGUF model in this process with clusterkv: the KV policy, its budget
 * and the cache type are builder options, and the conversation keeps one session, so that with a chat memory each
 * turn prefills only what is new. JSON responses (AiServices with a class return type) are held to their schema; tools
 * are rendered by the chat template and calls read back in its format (Llama 3.x, Qwen/Hermes, Mistral), a required
 * call forced by a grammar.
 * Close it to free the session and the model.
 *
 * <pre>{@code
 * try (ClusterKVChatModel model = ClusterKVChatModel.builder().modelPath(Path.of("model.gguf"))
 *         .contextSize(8192).kvPolicy("clusterkv").kvBudget(1024).build()) {
 *     String answer = model.chat("Summarise the document.");
 * }
 * }</pre>
 */
public final class ClusterKVChatModel extends LocalChatModel implements ChatModel {

    private ClusterKVChatModel(LocalChat chat) {
        super(chat);
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        return chat.chat(request, text -> {});
    }

    /** Options of both chat models; a model loaded elsewhere may be shared ({@link #model}), else {@link #modelPath} loads one. */
    public static final class Builder {
        private LanguageModel model;
        private Path modelPath;
        private int contextSize = 4096;
        private String kvPolicy = "full";
        private Integer kvBudget;
        private String kvType = "f16";
        private SamplingParams sampling = SamplingParams.DEFAULT;
        private int maxTokens = 512;
        private String chatTemplate;

        public Builder model(LanguageModel model) { this.model = model; return this; }
        public Builder modelPath(Path path) { this.modelPath = path; return this; }
        public Builder contextSize(int tokens) { this.contextSize = tokens; return this; }
        /** full, clusterkv, quest, streaming, h2o or snapkv. */
        public Builder kvPolicy(String policy) { this.kvPolicy = policy; return this; }
        public Builder kvBudget(int tokens) { this.kvBudget = tokens; return this; }
        /** f16, f32, q8_0 or q4_0. */
        public Builder kvType(String type) { this.kvType = type; return this; }
        public Builder temperature(double t) { this.sampling = sampling.withTemperature((float) t); return this; }
        public Builder seed(long seed) { this.sampling = sampling.withSeed(seed); return this; }
        public Builder maxTokens(int tokens) { this.maxTokens = tokens; return this; }
        /** A Jinja chat template to use instead of the model's (one with a tool-call format, say). */
        public Builder chatTemplate(String jinja) { this.chatTemplate = jinja; return this; }

        public ClusterKVChatModel build() {
            return new ClusterKVChatModel(chat());
        }

        public ClusterKVStreamingChatModel buildStreaming() {
            return new ClusterKVStreamingChatModel(chat());
        }

        private LocalChat chat() {
            PolicyConfig config = kvBudget == null ? PolicyConfig.DEFAULT : PolicyConfig.DEFAULT.withBudget(kvBudget);
            SessionOptions options = SessionOptions.defaults().withContextSize(contextSize).withPolicy(kvPolicy, config)
                    .withKvFormat(KVFormat.parse(kvType, null, null, null));
            if (model != null) return new LocalChat(model, false, options, sampling, maxTokens, chatTemplate);
            if (modelPath == null) throw new IllegalStateException("a model or a model path is required");
            try {
                return new LocalChat(LanguageModel.load(modelPath), true, options, sampling, maxTokens, chatTemplate);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot load " + modelPath + ": " + e.getMessage(), e);
            }
        }
    }
}
