package clusterkv.langchain4j;

import clusterkv.chat.ChatMessage;
import clusterkv.chat.ChatPrompt;
import clusterkv.chat.ChatTemplate;
import clusterkv.generate.GenerationOptions;
import clusterkv.generate.LanguageModel;
import clusterkv.generate.Session;
import clusterkv.generate.SessionOptions;
import dev.langchain4j.agent.tool.P;
import dev.langchain4j.agent.tool.Tool;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecifications;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.memory.chat.MessageWindowChatMemory;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ToolChoice;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.service.AiServices;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The LangChain4j chat models on stories260K: a conversation through AiServices with a chat memory answers each turn
 * as a fresh session answers the whole conversation rendered with the template (as the chat command's test checks
 * chat), while the session keeps the earlier turns' cache; streaming delivers every piece in order; a class return
 * type comes back filled from schema-constrained JSON.
 */
class ClusterKVChatModelTest {

    private static LanguageModel lm;

    @BeforeAll
    static void load() throws Exception {
        lm = LanguageModel.load(Path.of("src/test/data/models/stories260K.gguf"));
    }

    @AfterAll
    static void close() {
        lm.close();
    }

    interface Assistant {
        String chat(String message);
    }

    private static String reference(List<ChatMessage> conversation) {
        ChatTemplate template = ChatPrompt.templateOf(lm.model().file().metadata(), lm.tokenizer());
        int[] ids = ChatPrompt.encode(lm.tokenizer(), template.render(conversation, true));
        try (Session s = lm.newSession(SessionOptions.defaults().withContextSize(512))) {
            return s.generate(ids, GenerationOptions.greedy(24), t -> {}, null).text();
        }
    }

    @Test
    void aConversationThroughAiServicesEqualsTheSameTurnsRenderedWhole() {
        try (ClusterKVChatModel model = ClusterKVChatModel.builder().model(lm).contextSize(512).temperature(0).maxTokens(24).build()) {
            Assistant assistant = AiServices.builder(Assistant.class).chatModel(model)
                    .chatMemory(MessageWindowChatMemory.withMaxMessages(10)).build();
            List<ChatMessage> conversation = new ArrayList<>();
            for (String turn : List.of("Once upon a time", "What happened next?", "Who was there?")) {
                conversation.add(ChatMessage.user(turn));
                String answer = assistant.chat(turn);
                assertEquals(reference(conversation), answer, "turn " + conversation.size());
                if (conversation.size() > 1) assertTrue(model.reusedPromptTokens() > 10, "the earlier turns were not prefilled again: " + model.reusedPromptTokens());
                conversation.add(ChatMessage.assistant(answer));
            }
        }
    }

    @Test
    void streamingDeliversEveryPieceInOrderFromAnotherThread() throws Exception {
        try (ClusterKVStreamingChatModel streaming = ClusterKVChatModel.builder().model(lm).contextSize(512).temperature(0).maxTokens(24).buildStreaming()) {
            List<String> pieces = java.util.Collections.synchronizedList(new ArrayList<>());
            java.util.concurrent.CompletableFuture<ChatResponse> done = new java.util.concurrent.CompletableFuture<>();
            Thread caller = Thread.currentThread();
            streaming.chat("Once upon a time", new StreamingChatResponseHandler() {
                public void onPartialResponse(String text) {
                    if (Thread.currentThread() == caller) done.completeExceptionally(new AssertionError("called on the caller's thread"));
                    pieces.add(text);
                }

                public void onCompleteResponse(ChatResponse response) {
                    done.complete(response);
                }

                public void onError(Throwable error) {
                    done.completeExceptionally(error);
                }
            });
            ChatResponse response = done.get(60, java.util.concurrent.TimeUnit.SECONDS);
            String expected = reference(List.of(ChatMessage.user("Once upon a time")));
            assertTrue(pieces.size() > 1, "pieces, not one block: " + pieces);
            assertEquals(expected, String.join("", pieces));
            assertEquals(expected, response.aiMessage().text());
        }
    }

    public static class Cat {
        public String name;
        public int legs;
    }

    interface CatReader {
        Cat describe(String text);
    }

    @Test
    void aClassReturnTypeIsFilledFromConstrainedJson() {
        try (ClusterKVChatModel model = ClusterKVChatModel.builder().model(lm).contextSize(512).temperature(1).seed(3).maxTokens(60).build()) {
            Cat cat = AiServices.create(CatReader.class, model).describe("A cat sat on the mat.");
            assertNotNull(cat.name);
        }
    }

    static class Weather {
        @Tool("The weather in a city")
        String getWeather(@P("the city") String city) {
            return "sunny";
        }
    }

    @Test
    void aRequiredToolCallComesBackAsARequestAndItsResultContinuesTheConversation() throws Exception {
        String qwen = java.nio.file.Files.readString(Path.of("src/test/resources/chat/qwen2.5.jinja"));
        var tools = ToolSpecifications.toolSpecificationsFrom(Weather.class);
        try (ClusterKVChatModel model = ClusterKVChatModel.builder().model(lm).contextSize(2048).temperature(1).seed(2).maxTokens(120)
                .chatTemplate(qwen).build()) {
            UserMessage question = UserMessage.from("What is the weather in Paris?");
            ChatResponse call = model.chat(ChatRequest.builder().messages(question).toolSpecifications(tools).toolChoice(ToolChoice.REQUIRED).build());
            assertEquals(FinishReason.TOOL_EXECUTION, call.finishReason());
            ToolExecutionRequest request = call.aiMessage().toolExecutionRequests().get(0);
            assertEquals("getWeather", request.name());
            var arguments = new com.fasterxml.jackson.databind.ObjectMapper().readTree(request.arguments());
            for (String required : tools.get(0).parameters().required()) assertTrue(arguments.has(required), request.arguments());

            ChatResponse answer = model.chat(ChatRequest.builder().messages(question, call.aiMessage(), ToolExecutionResultMessage.from(request, "sunny"))
                    .toolSpecifications(tools).maxOutputTokens(12).build());
            assertNotNull(answer.aiMessage());
            assertTrue(model.reusedPromptTokens() > 100, "the call's prompt was not prefilled again: " + model.reusedPromptTokens());
        }
    }
}
