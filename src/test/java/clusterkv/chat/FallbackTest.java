package clusterkv.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Templates that are missing or unusable fall back to a built-in format and say why. */
class FallbackTest {

    private static final List<ChatMessage> CONVERSATION = List.of(
            ChatMessage.system("You are helpful."),
            ChatMessage.user("Hello"),
            ChatMessage.assistant("Hi!"),
            ChatMessage.user("How are you?"));

    private static void assertOneLine(String reason) {
        assertTrue(reason != null && !reason.isBlank(), "reason expected");
        assertFalse(reason.contains("\n"), reason);
    }

    @Test
    void nullTemplateUsesPlainFormat() {
        ChatTemplate t = ChatTemplate.of(null, "<s>", "</s>");
        assertTrue(t.isFallback());
        assertOneLine(t.fallbackReason());
        assertTrue(t.fallbackReason().contains("no chat template"), t.fallbackReason());
        assertTrue(t.fallbackReason().contains("plain"), t.fallbackReason());
        assertEquals("System: You are helpful.\nUser: Hello\nAssistant: Hi!\nUser: How are you?\nAssistant:",
                t.render(CONVERSATION, true));
        assertEquals("User: Hello\nAssistant: Hi!\n",
                t.render(List.of(ChatMessage.user("Hello"), ChatMessage.assistant("Hi!")), false));
        ChatTemplate.Rendered r = t.renderDetailed(CONVERSATION, true);
        assertTrue(r.fallback());
        assertEquals(t.fallbackReason(), r.note());
        assertThrows(ChatTemplateException.class, () -> t.renderStrict(CONVERSATION, true));
    }

    @Test
    void blankTemplateWithChatMlEosUsesChatMl() {
        ChatTemplate t = ChatTemplate.of("  \n ", "", "<|im_end|>");
        assertTrue(t.isFallback());
        assertTrue(t.fallbackReason().contains("ChatML"), t.fallbackReason());
        assertEquals("<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
                        + "<|im_start|>assistant\nHi!<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n"
                        + "<|im_start|>assistant\n",
                t.render(CONVERSATION, true));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        // unclosed expression
        "{% for message in messages %}{{ message['content'] }{% endfor %}",
        // missing endfor
        "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n",
        // unknown tag
        "{% frobnicate %}<|im_start|>{{ messages[0]['content'] }}",
        // broken expression
        "<|im_start|>{{ messages[0]['content' + }}<|im_end|>",
        // unclosed comment
        "{# <|im_start|> {{ messages }}",
    })
    void syntaxErrorsFallBack(String template) {
        ChatTemplate t = ChatTemplate.of(template, "", "<|im_end|>");
        assertTrue(t.isFallback(), () -> "expected fallback for " + template);
        assertOneLine(t.fallbackReason());
        assertTrue(t.fallbackReason().contains("ChatML"), t.fallbackReason());
        assertTrue(t.render(CONVERSATION, true).startsWith("<|im_start|>system\nYou are helpful.<|im_end|>\n"));
    }

    @Test
    void templateThatAlwaysRaisesFallsBackWithItsMessage() {
        String template = "{{ raise_exception('This template is only for tool use!') }}"
                + "<start_of_turn>{{ messages[0]['content'] }}";
        ChatTemplate t = ChatTemplate.of(template, "<bos>", "<eos>");
        assertTrue(t.isFallback());
        assertOneLine(t.fallbackReason());
        assertTrue(t.fallbackReason().contains("This template is only for tool use!"), t.fallbackReason());
        assertTrue(t.fallbackReason().contains("Gemma"), t.fallbackReason());
        assertEquals("<start_of_turn>user\nYou are helpful.\n\nHello<end_of_turn>\n"
                        + "<start_of_turn>model\nHi!<end_of_turn>\n"
                        + "<start_of_turn>user\nHow are you?<end_of_turn>\n"
                        + "<start_of_turn>model\n",
                t.render(CONVERSATION, true));
    }

    @Test
    void raiseOnlyForSomeConversationsFallsBackPerRender() {
        // Llama-3-style template that refuses a conversation ending with an assistant turn.
        String template = "{% if messages[-1]['role'] == 'assistant' %}{{ raise_exception('last message must be from the user') }}{% endif %}"
                + "{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n{{ m['content'] }}<|eot_id|>{% endfor %}"
                + "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}";
        ChatTemplate t = ChatTemplate.of(template, "<|begin_of_text|>", "<|eot_id|>");
        assertFalse(t.isFallback());
        assertNull(t.fallbackReason());

        List<ChatMessage> endsWithAssistant = List.of(ChatMessage.user("Hi"), ChatMessage.assistant("Hello"));
        String out = t.render(endsWithAssistant, false);
        assertTrue(t.isFallback());
        assertTrue(t.fallbackReason().contains("last message must be from the user"), t.fallbackReason());
        assertTrue(t.fallbackReason().contains("Llama 3"), t.fallbackReason());
        assertEquals("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHello<|eot_id|>", out);
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> t.renderStrict(endsWithAssistant, false));
        assertTrue(e.raisedByTemplate());
        assertEquals("template raised an exception: last message must be from the user", e.getMessage());

        assertEquals("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n",
                t.render(List.of(ChatMessage.user("Hi")), true));
        assertFalse(t.isFallback());
    }

    @Test
    void templateRenderingNothingFallsBack() {
        ChatTemplate t = ChatTemplate.of("{% for m in messages %}{% endfor %}", "", "");
        assertTrue(t.isFallback());
        assertTrue(t.fallbackReason().contains("empty"), t.fallbackReason());
    }

    @Test
    void zephyrAndMistralFamiliesAreRecognisedInBrokenTemplates() {
        ChatTemplate zephyr = ChatTemplate.of("{% if %}<|user|>\n<|assistant|>", "<s>", "</s>");
        assertTrue(zephyr.isFallback());
        assertEquals("<|user|>\nHi</s>\n<|assistant|>\n", zephyr.render(List.of(ChatMessage.user("Hi")), true));

        ChatTemplate mistral = ChatTemplate.of("[INST] {{ messages[0].content [/INST]", "<s>", "</s>");
        assertTrue(mistral.isFallback());
        assertEquals("[INST] S\n\nQ1 [/INST] A1</s>[INST] Q2 [/INST]", mistral.render(List.of(
                ChatMessage.system("S"), ChatMessage.user("Q1"), ChatMessage.assistant("A1"), ChatMessage.user("Q2")),
                true));
    }
}
