package clusterkv.server;

import clusterkv.chat.ChatMessage;
import com.fasterxml.jackson.annotation.JsonClassDescription;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import dev.langchain4j.agent.tool.P;
import dev.langchain4j.agent.tool.Tool;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecifications;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.Capability;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ToolChoice;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.langchain4j.service.AiServices;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The server as Java users reach it: OpenAI's official client (openai-java) and LangChain4j's OpenAiChatModel and
 * OpenAiStreamingChatModel, each doing plain chat (the text equal to Session.generate's on a fresh session),
 * streaming, structured output into a Java class (the schema made by the client from the class) and a tool call
 * (the function made by the client from a class or a @Tool method), on stories260K; tool calls with Qwen 2.5's
 * template, which has a call format.
 */
class OpenAiClientsTest {

    private static final String QUESTION = "Tell me about a cat.";
    static TestServer plain, tools;

    @BeforeAll
    static void start() throws Exception {
        plain = new TestServer(512, c -> c);
        String qwen = Files.readString(Path.of("src/test/resources/chat/qwen2.5.jinja"));
        tools = new TestServer(2048, c -> c.withChatTemplate(qwen));
    }

    @AfterAll
    static void stop() {
        plain.close();
        tools.close();
    }

    private static String url(TestServer s) {
        return "http://127.0.0.1:" + s.server.port() + "/v1";
    }

    private static String reference(int maxTokens) {
        return plain.reference(plain.chatTokens(List.of(ChatMessage.user(QUESTION))), maxTokens);
    }

    /** What the model describes, as a Java class: both clients derive the JSON schema from it. */
    public static class Cat {
        @JsonPropertyDescription("the cat's name")
        public String name;
        public int legs;
        public boolean hungry;
    }

    /** openai-java makes a function tool of a class: its name, and its fields as the parameters. */
    @JsonClassDescription("The weather in a city")
    public static class GetWeather {
        public String city;
        public int days;
    }

    static OpenAIClient openAi(TestServer s) {
        return OpenAIOkHttpClient.builder().baseUrl(url(s)).apiKey("unused").maxRetries(0).build();
    }

    @Test
    void openAiJavaChatAndStreaming() {
        OpenAIClient client = openAi(plain);
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model("stories260K").addUserMessage(QUESTION)
                .maxCompletionTokens(24).temperature(0.0).build();
        ChatCompletion c = client.chat().completions().create(params);
        assertEquals(reference(24), c.choices().get(0).message().content().orElseThrow());
        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
            stream.stream().flatMap(chunk -> chunk.choices().stream()).forEach(choice -> choice.delta().content().ifPresent(streamed::append));
        }
        assertEquals(reference(24), streamed.toString());
    }

    @Test
    void openAiJavaStructuredOutputAndToolCall() {
        for (long seed = 0; seed < 3; seed++) {
            var params = ChatCompletionCreateParams.builder().model("stories260K").addUserMessage("Describe the cat.")
                    .maxCompletionTokens(80).temperature(1.0).seed(seed).responseFormat(Cat.class).build();
            Cat cat = openAi(plain).chat().completions().create(params).choices().get(0).message().content().orElseThrow();
            assertNotNull(cat.name);
        }
        var params = ChatCompletionCreateParams.builder().model("stories260K").addUserMessage("What is the weather in Paris?")
                .maxCompletionTokens(80).temperature(1.0).seed(4L).addTool(GetWeather.class).toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).build();
        ChatCompletion c = openAi(tools).chat().completions().create(params);
        assertEquals("tool_calls", c.choices().get(0).finishReason().asString());
        ChatCompletionMessageFunctionToolCall call = c.choices().get(0).message().toolCalls().orElseThrow().get(0).asFunction();
        assertEquals("GetWeather", call.function().name());
        GetWeather arguments = call.function().arguments(GetWeather.class);
        assertNotNull(arguments.city);
    }

    interface CatReader {
        Cat describe(String text);
    }

    static class WeatherTools {
        @Tool("The weather in a city")
        String getWeather(@P("the city") String city, @P("days ahead") int days) {
            return "sunny";
        }
    }

    private static OpenAiChatModel.OpenAiChatModelBuilder langChain4j(TestServer s) {
        return OpenAiChatModel.builder().baseUrl(url(s)).apiKey("unused").modelName("stories260K").maxRetries(0);
    }

    @Test
    void langChain4jChatAndStreaming() throws Exception {
        assertEquals(reference(24), langChain4j(plain).maxTokens(24).temperature(0.0).build().chat(QUESTION));
        var streaming = OpenAiStreamingChatModel.builder().baseUrl(url(plain)).apiKey("unused").modelName("stories260K").maxTokens(24).temperature(0.0).build();
        StringBuilder partial = new StringBuilder();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        streaming.chat(QUESTION, new StreamingChatResponseHandler() {
            public void onPartialResponse(String text) {
                partial.append(text);
            }

            public void onCompleteResponse(ChatResponse response) {
                done.complete(response);
            }

            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        ChatResponse response = done.get(60, TimeUnit.SECONDS);
        assertEquals(reference(24), partial.toString(), "every piece, in order");
        assertEquals(reference(24), response.aiMessage().text());
    }

    @Test
    void langChain4jStructuredOutputAndToolCall() {
        OpenAiChatModel json = langChain4j(plain).maxTokens(80).temperature(1.0).seed(3)
                .supportedCapabilities(Capability.RESPONSE_FORMAT_JSON_SCHEMA).strictJsonSchema(true).build();
        Cat cat = AiServices.create(CatReader.class, json).describe("Describe the cat.");
        assertNotNull(cat.name);

        var spec = ToolSpecifications.toolSpecificationsFrom(WeatherTools.class);
        ChatRequest request = ChatRequest.builder().messages(UserMessage.from("What is the weather in Paris?"))
                .toolSpecifications(spec).toolChoice(ToolChoice.REQUIRED)
                .maxOutputTokens(80).build();
        ChatResponse r = langChain4j(tools).temperature(1.0).seed(5).build().chat(request);
        assertTrue(r.aiMessage().hasToolExecutionRequests(), r.toString());
        ToolExecutionRequest call = r.aiMessage().toolExecutionRequests().get(0);
        assertEquals("getWeather", call.name());
        JsonNode arguments = ServerStructuredOutputTest.parseJson(call.arguments());
        for (String required : spec.get(0).parameters().required()) assertTrue(arguments.has(required), required + " in " + call.arguments());
    }
}
