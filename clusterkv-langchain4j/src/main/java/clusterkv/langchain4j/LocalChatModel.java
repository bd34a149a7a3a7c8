package clusterkv.langchain4j;

import dev.langchain4j.model.chat.Capability;

import java.util.Set;

/** What both chat models share: their conversation, what they can do, and freeing it. */
abstract sealed class LocalChatModel implements AutoCloseable permits ClusterKVChatModel, ClusterKVStreamingChatModel {

    final LocalChat chat;

    LocalChatModel(LocalChat chat) {
        this.chat = chat;
    }

    /** JSON schemas: AiServices asks for one when a method returns a class. */
    public Set<Capability> supportedCapabilities() {
        return Set.of(Capability.RESPONSE_FORMAT_JSON_SCHEMA);
    }

    /** Prompt tokens of the latest request that the session already held, so were not prefilled again. */
    public int reusedPromptTokens() {
        return chat.reusedTokens();
    }

    /** Frees the session's KV cache, and the model when the builder loaded it. */
    @Override
    public void close() {
        chat.close();
    }
}
