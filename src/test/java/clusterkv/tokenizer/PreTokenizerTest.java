package clusterkv.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Word splitting before byte-level BPE, by llama.cpp's regexes and its way of running them. */
class PreTokenizerTest {

    @Test
    void gpt2KeepsOneSpaceForTheNextWord() {
        assertEquals(List.of("Hello", " world", " ", " !"), PreTokenizer.forName("gpt-2").split("Hello world  !"));
        assertEquals(List.of("I", "'ve", " 🦙🦙", " x", "   "), PreTokenizer.forName("gpt-2").split("I've 🦙🦙 x   "));
    }

    @Test
    void llama3GroupsNewlinesAndDigitsByThree() {
        assertEquals(List.of("Hello", "  \n\n", " x", "123", "456", "7"),
                PreTokenizer.forName("llama-bpe").split("Hello  \n\n x1234567"));
        assertEquals(List.of("'S", " it"), PreTokenizer.forName("llama3").split("'S it"));
    }

    @Test
    void missingPreUsesLlamaCppsDefaultRules() {
        // Punctuation first, then the GPT-2 regex, then digit runs, then groups of three digits.
        List<String> expected = List.of("Hello", ",", " world", " ", "123", "45", "!");
        assertEquals(expected, PreTokenizer.forName(null).split("Hello, world 12345!"));
        assertEquals(expected, PreTokenizer.forName("default").split("Hello, world 12345!"));
    }

    @Test
    void deepseekLlmAnchorsTrailingSpaceAtThePieceEnd() {
        // "\s+$" sees the end of each piece left by the earlier rules (here the piece before "\n").
        assertEquals(List.of("a", "—", "  ", "\n", "b"), PreTokenizer.forName("deepseek-llm").split("a—  \nb"));
    }

    @Test
    void collapsedCategoriesKeepLlamaCppQuirks() {
        Pattern symbols = Pattern.compile(CollapsedRegex.toJava("\\p{S}+", true));
        assertTrue(symbols.matcher("$+").matches());
        assertTrue(symbols.matcher(String.valueOf(CollapsedRegex.collapse('€'))).matches());
        assertFalse(symbols.matcher("~").matches(), "llama.cpp's ASCII symbol list has no '~'");
        Pattern upper = Pattern.compile(CollapsedRegex.toJava("\\p{Lu}", true));
        assertTrue(upper.matcher(String.valueOf(CollapsedRegex.collapse('é'))).matches(), "\\p{Lu} is any letter there");
        assertEquals('\u000B', CollapsedRegex.collapse(0x3000));
        assertEquals('a', CollapsedRegex.collapse('a'));
    }

    @Test
    void unknownNamesAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PreTokenizer.forName("nope"));
        assertTrue(e.getMessage().contains("'nope'"));
    }

    @Test
    void everyListedPreTokenizerCompiles() {
        for (String name : List.of("default", "llama3", "llama-bpe", "dbrx", "deepseek-llm", "deepseek-coder", "deepseek-v3",
                "falcon", "mpt", "starcoder", "refact", "gpt-2", "qwen2", "stablelm2", "olmo", "poro-chat", "chatglm-bpe",
                "tekken", "gpt-4o", "chameleon", "seed-coder", "bailingmoe", "grok-2", "command-r", "smollm")) {
            List<String> words = PreTokenizer.forName(name).split("Hello, wörld! 12345 I'm 🦙 -- 你好\n\n  ok");
            assertEquals("Hello, wörld! 12345 I'm 🦙 -- 你好\n\n  ok", String.join("", words), name);
        }
    }
}
