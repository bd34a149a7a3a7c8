package clusterkv.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Real chat templates of several model families (test resources under {@code chat/}), rendered and
 * compared with prompts written by hand from each family's documented format.
 *
 * <p>Template sources: {@code llama3.jinja}, {@code mistral-v0.2-legacy.jinja} and the Mistral v0.2
 * "v1" template are the strings in llama.cpp's {@code tests/test-chat-template.cpp}
 * (ggml-org/llama.cpp); {@code mistral-v0.3.jinja} is the "v3" template in that file (the template of
 * Mistral-7B-Instruct-v0.3 and Mistral-Large-Instruct-2407); {@code qwen3.jinja},
 * {@code llama3.2.jinja} and {@code gemma2.jinja} are llama.cpp's
 * {@code models/templates/Qwen-Qwen3-0.6B.jinja}, {@code meta-llama-Llama-3.2-3B-Instruct.jinja} and
 * {@code google-gemma-2-2b-it.jinja}; {@code llama3.1.jinja} is llama.cpp's
 * {@code meta-llama-Llama-3.3-70B-Instruct.jinja}, the same text as Llama-3.1-8B-Instruct's template;
 * {@code qwen2.5.jinja} is the {@code chat_template} of Qwen2.5-1.5B-Instruct's tokenizer_config.json;
 * {@code tinyllama-zephyr.jinja} is TinyLlama-1.1B-Chat-v1.0's (the Zephyr template);
 * {@code smollm2.jinja} is SmolLM2-Instruct's; {@code deepseek-r1-distill.jinja} is llama.cpp's
 * {@code models/templates/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja}.
 */
class ModelTemplatesTest {

    private static final Clock DEC_5_2024 = Clock.fixed(Instant.parse("2024-12-05T10:00:00Z"), ZoneOffset.UTC);

    static String resource(String name) {
        try (InputStream in = ModelTemplatesTest.class.getResourceAsStream("/chat/" + name)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource chat/" + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ChatTemplate load(String name, String bos, String eos) {
        ChatTemplate t = ChatTemplate.of(resource(name), bos, eos, DEC_5_2024);
        assertFalse(t.isFallback(), () -> name + ": " + t.fallbackReason());
        return t;
    }

    private static ChatMessage sys(String s) {
        return ChatMessage.system(s);
    }

    private static ChatMessage user(String s) {
        return ChatMessage.user(s);
    }

    private static ChatMessage asst(String s) {
        return ChatMessage.assistant(s);
    }

    // ------------------------------------------------------------------ Llama 3

    @Test
    void llama3() {
        ChatTemplate t = load("llama3.jinja", "<|begin_of_text|>", "<|eot_id|>");
        String expected = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHi! How can I help?<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nTell me a joke.<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n";
        assertEquals(expected, t.renderStrict(List.of(sys("You are a helpful assistant."), user(" Hello\n"),
                asst("Hi! How can I help? "), user("Tell me a joke.")), true));
    }

    @Test
    void llama31SystemBlockWithCuttingKnowledgeDate() {
        ChatTemplate t = load("llama3.1.jinja", "<|begin_of_text|>", "<|eot_id|>");
        String expected = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
                + "You are a helpful assistant.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nWhat is the capital of France?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n";
        assertEquals(expected, t.render(List.of(sys("You are a helpful assistant.  "),
                user("What is the capital of France?")), true));
    }

    @Test
    void llama31WithoutSystemMessageMultiTurnNoGenerationPrompt() {
        ChatTemplate t = load("llama3.1.jinja", "<|begin_of_text|>", "<|eot_id|>")
                .withVariables(Map.of("date_string", "01 Jan 2025"));
        String expected = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                + "Cutting Knowledge Date: December 2023\nToday Date: 01 Jan 2025\n\n<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>";
        assertEquals(expected, t.renderStrict(List.of(user("Hi"), asst(" Hello! "), user("Bye")), false));
    }

    @Test
    void llama32UsesStrftimeNow() {
        ChatTemplate t = load("llama3.2.jinja", "<|begin_of_text|>", "<|eot_id|>");
        String expected = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                + "Cutting Knowledge Date: December 2023\nToday Date: 05 Dec 2024\n\n"
                + "Answer in French.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n";
        assertEquals(expected, t.renderStrict(List.of(sys("Answer in French."), user("Hello")), true));
    }

    // --------------------------------------------------------------------- Qwen

    @Test
    void qwen25DefaultSystemMessage() {
        ChatTemplate t = load("qwen2.5.jinja", "", "<|im_end|>");
        String expected = "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
                + "<|im_start|>user\nHello<|im_end|>\n"
                + "<|im_start|>assistant\n";
        assertEquals(expected, t.renderStrict(List.of(user("Hello")), true));
    }

    @Test
    void qwen25MultiTurnWithSystemNoGenerationPrompt() {
        ChatTemplate t = load("qwen2.5.jinja", "", "<|im_end|>");
        String expected = "<|im_start|>system\nYou are a pirate.<|im_end|>\n"
                + "<|im_start|>user\nHi<|im_end|>\n"
                + "<|im_start|>assistant\nArr!<|im_end|>\n"
                + "<|im_start|>user\nBye<|im_end|>\n";
        assertEquals(expected, t.renderStrict(List.of(sys("You are a pirate."), user("Hi"), asst("Arr!"),
                user("Bye")), false));
    }

    @Test
    void qwen3SingleTurn() {
        ChatTemplate t = load("qwen3.jinja", "", "<|im_end|>");
        assertEquals("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
                t.renderStrict(List.of(user("Hello")), true));
    }

    @Test
    void qwen3EnableThinkingFalse() {
        ChatTemplate t = load("qwen3.jinja", "", "<|im_end|>").withVariables(Map.of("enable_thinking", false));
        assertEquals("<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
                        + "<|im_start|>assistant\n<think>\n\n</think>\n\n",
                t.renderStrict(List.of(sys("Be terse."), user("Hello")), true));
    }

    @Test
    void qwen3DropsReasoningOfEarlierTurns() {
        ChatTemplate t = load("qwen3.jinja", "", "<|im_end|>");
        String expected = "<|im_start|>user\nWhat is 1+1?<|im_end|>\n"
                + "<|im_start|>assistant\n2<|im_end|>\n"
                + "<|im_start|>user\nAnd 2+2?<|im_end|>\n"
                + "<|im_start|>assistant\n";
        assertEquals(expected, t.renderStrict(List.of(user("What is 1+1?"),
                asst("<think>\nadd one and one\n</think>\n\n2"), user("And 2+2?")), true));
    }

    @Test
    void qwen3KeepsReasoningAfterLastQuery() {
        ChatTemplate t = load("qwen3.jinja", "", "<|im_end|>");
        String expected = "<|im_start|>system\nS<|im_end|>\n"
                + "<|im_start|>user\nQ<|im_end|>\n"
                + "<|im_start|>assistant\n<think>\nreason\n</think>\n\nA<|im_end|>\n";
        assertEquals(expected, t.renderStrict(List.of(sys("S"), user("Q"),
                asst("<think>\nreason\n</think>\n\nA")), false));
        // a final assistant message without reasoning gets an empty think block
        assertEquals("<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nA<|im_end|>\n",
                t.renderStrict(List.of(user("Q"), asst("A")), false));
    }

    @Test
    void qwen3ToolResponsesAreNotQueries() {
        // The reverse scan (messages[::-1], namespace, startswith/endswith) skips the tool response,
        // so the assistant turn after "Q" is not the last one after a query and keeps no think block.
        ChatTemplate t = load("qwen3.jinja", "", "<|im_end|>");
        String expected = "<|im_start|>user\nQ<|im_end|>\n"
                + "<|im_start|>assistant\nA1<|im_end|>\n"
                + "<|im_start|>user\n<tool_response>42</tool_response><|im_end|>\n"
                + "<|im_start|>assistant\n";
        assertEquals(expected, t.renderStrict(List.of(user("Q"), asst("A1"),
                user("<tool_response>42</tool_response>")), true));
    }

    // ------------------------------------------------------------------ Mistral

    @Test
    void mistralV03PutsSystemIntoLastUserMessage() {
        ChatTemplate t = load("mistral-v0.3.jinja", "<s>", "</s>");
        String expected = "<s>[INST] Hi[/INST] Hello.</s>[INST] Be brief.\n\nBye[/INST]";
        assertEquals(expected, t.renderStrict(List.of(sys("Be brief."), user("Hi"), asst(" Hello. "), user("Bye")),
                true));
    }

    @Test
    void mistralV03RaisesOnWrongRoleOrder() {
        ChatTemplate t = load("mistral-v0.3.jinja", "<s>", "</s>");
        List<ChatMessage> bad = List.of(user("a"), user("b"));
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> t.renderStrict(bad, true));
        assertTrue(e.raisedByTemplate());
        assertTrue(e.getMessage().contains(
                "After the optional system message, conversation roles must alternate user/assistant/user/assistant/..."),
                e.getMessage());

        // render() falls back to the built-in [INST] format and says why
        ChatTemplate.Rendered r = t.renderDetailed(bad, true);
        assertTrue(r.fallback());
        assertEquals("[INST] a [/INST][INST] b [/INST]", r.text());
        assertTrue(t.isFallback());
        assertTrue(t.fallbackReason().contains("conversation roles must alternate"), t.fallbackReason());
        assertFalse(t.fallbackReason().contains("\n"));

        // a later good conversation renders with the template again
        assertEquals("<s>[INST] a[/INST]", t.render(List.of(user("a")), true));
        assertFalse(t.isFallback());
        assertNull(t.fallbackReason());
    }

    @Test
    void mistralV03WithTools() {
        // exercises selectattr, message == user_messages[-1], tool.items() with a loop filter,
        // "is string", tojson and a "}}" string literal inside an expression
        Map<String, Object> location = new LinkedHashMap<>();
        location.put("type", "string");
        Map<String, Object> parameters = new LinkedHashMap<>();
        parameters.put("type", "object");
        parameters.put("properties", Map.of("location", location));
        Map<String, Object> function = new LinkedHashMap<>();
        function.put("name", "get_weather");
        function.put("description", "Get the weather");
        function.put("parameters", parameters);
        function.put("return", "ignored");
        Map<String, Object> tool = new LinkedHashMap<>();
        tool.put("type", "function");
        tool.put("function", function);
        ChatTemplate t = load("mistral-v0.3.jinja", "<s>", "</s>").withVariables(Map.of("tools", List.of(tool)));
        String expected = "<s>[INST] Hi[/INST] Hello</s>"
                + "[AVAILABLE_TOOLS] [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", "
                + "\"description\": \"Get the weather\", \"parameters\": {\"type\": \"object\", "
                + "\"properties\": {\"location\": {\"type\": \"string\"}}}}}][/AVAILABLE_TOOLS]"
                + "[INST] Weather in Paris?[/INST]";
        assertEquals(expected, t.renderStrict(List.of(user("Hi"), asst("Hello"), user("Weather in Paris?")), true));
    }

    @Test
    void mistralV02WithSystemPrompt() {
        ChatTemplate t = load("mistral-v0.2.jinja", "<s>", "</s>");
        assertEquals("<s> [INST] S\n\nQ1 [/INST] A1</s> [INST] Q2 [/INST]",
                t.renderStrict(List.of(sys("S"), user("Q1"), asst("A1"), user("Q2")), true));
        ChatTemplateException e = assertThrows(ChatTemplateException.class,
                () -> t.renderStrict(List.of(user("Q1"), ChatMessage.system("late system")), true));
        assertTrue(e.raisedByTemplate());
    }

    @Test
    void mistralV02LegacyTemplate() {
        ChatTemplate t = load("mistral-v0.2-legacy.jinja", "<s>", "</s>");
        assertEquals("<s>[INST] Q1 [/INST]A1</s>[INST] Q2 [/INST]",
                t.renderStrict(List.of(user("Q1"), asst("A1"), user("Q2")), true));
        // Its system-role check is the roles-alternate raise; render() merges the system message.
        ChatTemplate.Rendered r = t.renderDetailed(List.of(sys("S"), user("Q1")), true);
        assertFalse(r.fallback());
        assertEquals("<s>[INST] S\nQ1 [/INST]", r.text());
        assertTrue(r.note().contains("merged"), r.note());
    }

    // ------------------------------------------------------- TinyLlama / Zephyr

    @Test
    void tinyLlamaZephyr() {
        ChatTemplate t = load("tinyllama-zephyr.jinja", "<s>", "</s>");
        assertEquals("<|system|>\nYou are a friendly chatbot.</s>\n<|user|>\nHi</s>\n<|assistant|>\n",
                t.renderStrict(List.of(sys("You are a friendly chatbot."), user("Hi")), true));
        assertEquals("<|user|>\nHi</s>\n<|assistant|>\nHello!</s>\n<|user|>\nBye</s>\n<|assistant|>\n",
                t.renderStrict(List.of(user("Hi"), asst("Hello!"), user("Bye")), true));
        assertEquals("<|user|>\nHi</s>\n<|assistant|>\nHello!</s>\n",
                t.renderStrict(List.of(user("Hi"), asst("Hello!")), false));
    }

    // ------------------------------------------------------------------ SmolLM2

    @Test
    void smolLm2() {
        ChatTemplate t = load("smollm2.jinja", "<|im_start|>", "<|im_end|>");
        assertEquals("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                        + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
                t.renderStrict(List.of(user("Hi")), true));
        assertEquals("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                        + "<|im_start|>assistant\nHello<|im_end|>\n",
                t.renderStrict(List.of(sys("S"), user("Hi"), asst("Hello")), false));
    }

    // ------------------------------------------------------------- DeepSeek R1

    @Test
    void deepSeekR1DistillDropsThinkingOfPreviousAnswers() {
        ChatTemplate t = load("deepseek-r1-distill.jinja", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>");
        String expected = "<｜begin▁of▁sentence｜>You are terse.<｜User｜>Hello<｜Assistant｜>Hi there<｜end▁of▁sentence｜>"
                + "<｜User｜>Who are you?<｜Assistant｜><think>\n";
        assertEquals(expected, t.renderStrict(List.of(sys("You are terse."), user("Hello"),
                asst("<think>greeting</think>Hi there"), user("Who are you?")), true));
    }

    // -------------------------------------------------------------------- Gemma

    @Test
    void gemma() {
        ChatTemplate t = load("gemma2.jinja", "<bos>", "<eos>");
        String expected = "<bos><start_of_turn>user\nHi<end_of_turn>\n"
                + "<start_of_turn>model\nHello<end_of_turn>\n"
                + "<start_of_turn>user\nBye<end_of_turn>\n"
                + "<start_of_turn>model\n";
        assertEquals(expected, t.renderStrict(List.of(user(" Hi "), asst("Hello"), user("Bye")), true));
    }

    @Test
    void gemmaRejectsSystemRole() {
        ChatTemplate t = load("gemma2.jinja", "<bos>", "<eos>");
        List<ChatMessage> withSystem = List.of(sys("Be nice."), user("Hi"));
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> t.renderStrict(withSystem, true));
        assertTrue(e.raisedByTemplate());
        assertTrue(e.getMessage().contains("System role not supported"), e.getMessage());

        ChatTemplate.Rendered r = t.renderDetailed(withSystem, true);
        assertFalse(r.fallback());
        assertEquals("<bos><start_of_turn>user\nBe nice.\nHi<end_of_turn>\n<start_of_turn>model\n", r.text());
        assertTrue(r.note().contains("System role not supported"), r.note());
        assertFalse(t.isFallback());
    }
}
