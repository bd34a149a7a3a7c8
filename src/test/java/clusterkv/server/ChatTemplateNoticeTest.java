package clusterkv.server;

import clusterkv.chat.ChatTemplate;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** The server says at start why chat prompts use a built-in format, instead of falling back without a word. */
class ChatTemplateNoticeTest {

    @Test
    void aTemplateThatDoesNotParseIsAWarningNamingTheProblem() {
        String notice = OpenAIServer.templateNotice(ChatTemplate.of("{% for m in messages %}{{ m.content }}", "<s>", "</s>"));
        assertNotNull(notice);
        assertTrue(notice.startsWith("warning: chat template"), notice);
        assertTrue(notice.contains("using built-in"), notice);
        assertEquals(1, notice.lines().count(), notice);
    }

    @Test
    void aMissingTemplateIsANoteAndAWorkingOneIsSilent() {
        assertTrue(OpenAIServer.templateNotice(ChatTemplate.of(null, "<s>", "</s>")).startsWith("note: model has no chat template"));
        assertNull(OpenAIServer.templateNotice(ChatTemplate.of("{% for m in messages %}{{ m.content }}{% endfor %}", "<s>", "</s>")));
    }
}
