package clusterkv.langchain4j;

import dev.langchain4j.model.chat.Capability;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;

import java.util.Set;

/**
 * The streaming twin of {@link ClusterKVChatModel} (built by its builder's {@code buildStreaming()}): each piece of
 * text goes to the handler as it is generated, in order, then the whole response. Generation runs on the calling
 * thread; an error goes to {@code onError}.
 */
public final class ClusterKVStreamingChatModel implements StreamingChatModel, AutoCloseable {

    private final LocalChat chat;

    ClusterKVStreamingChatModel(LocalChat chat) {
        this.chat = chat;
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        dev.langchain4j.model.chat.response.ChatResponse response;
        try {
            response = chat.chat(request, text -> {
                if (!text.isEmpty()) handler.onPartialResponse(text);
            });
        } catch (RuntimeException e) {
            handler.onError(e);
            return;
        }
        handler.onCompleteResponse(response);
    }

    @Override
    public Set<Capability> supportedCapabilities() {
        return Set.of(Capability.RESPONSE_FORMAT_JSON_SCHEMA);
    }

    /** Prompt tokens of the latest request that the session already held. */
    public int reusedPromptTokens() {
        return chat.reusedTokens();
    }

    @Override
    public void close() {
        chat.close();
    }
}
