package clusterkv.langchain4j;

import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;

/**
 * The streaming twin of {@link ClusterKVChatModel} (built by its builder's {@code buildStreaming()}): each piece of
 * text goes to the handler as it is generated, in order, then the whole response. As LangChain4j's remote streaming
 * models do, {@code chat} returns at once and the handler is called from another thread (a virtual thread per
 * request; requests on one model still run one at a time); an error goes to {@code onError}.
 */
public final class ClusterKVStreamingChatModel extends LocalChatModel implements StreamingChatModel {

    ClusterKVStreamingChatModel(LocalChat chat) {
        super(chat);
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        Thread.ofVirtual().name("clusterkv-stream").start(() -> stream(request, handler));
    }

    private void stream(ChatRequest request, StreamingChatResponseHandler handler) {
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
}
