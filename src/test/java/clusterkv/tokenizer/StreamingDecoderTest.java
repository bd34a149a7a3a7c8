package clusterkv.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Multi-byte characters split across tokens must come out whole, and only once complete. */
class StreamingDecoderTest {

    private static List<String> stream(Tokenizer tok, int[] ids) {
        StreamingDecoder d = new StreamingDecoder(tok);
        List<String> parts = new ArrayList<>();
        for (int id : ids) parts.add(d.accept(id));
        parts.add(d.flush());
        return parts;
    }

    @Test
    void sentencePieceByteFallbackIsHeldBackUntilTheCharacterIsComplete() throws Exception {
        Tokenizer tok = TestVocabs.stories();
        String text = "a ½ 🦙 ✓";
        int[] ids = tok.encode(text, false, false);
        int byteTokens = 0;
        for (int id : ids) if (tok.tokenText(id).startsWith("<0x")) byteTokens++;
        assertEquals(2 + 4 + 3, byteTokens, "½, 🦙 and ✓ are not in the 512-token vocabulary, so they are spelled in bytes");

        List<String> parts = stream(tok, ids);
        for (String p : parts) assertFalse(p.contains("\uFFFD"), "a partial character was emitted: " + parts);
        assertTrue(parts.contains(""), "some token must have been held back");
        assertTrue(parts.contains("🦙"), "the llama comes out in one piece: " + parts);
        assertEquals(" " + text, String.join("", parts)); // the pieces keep SentencePiece's leading space
        assertEquals(text, tok.decode(ids));
    }

    @Test
    void byteLevelBpeTokensSplittingAnEmoji() throws Exception {
        Tokenizer tok = TestVocabs.load("gpt-2");
        int[] ids = tok.encode(" this is 🦙.cpp", false, false);
        assertArrayEquals(new int[] {428, 318, 12520, 99, 247, 13, 20322}, ids);
        StreamingDecoder d = new StreamingDecoder(tok);
        assertEquals(" this", d.accept(428));
        assertEquals(" is", d.accept(318));
        assertEquals(" ", d.accept(12520)); // " " plus the first two bytes of the llama
        assertTrue(d.hasPending());
        assertEquals("", d.accept(99));
        assertEquals("🦙", d.accept(247));
        assertEquals(".", d.accept(13));
        assertEquals("cpp", d.accept(20322));
        assertEquals("", d.flush());
    }

    @Test
    void bytesThatCannotBecomeACharacterAreNotHeldForever() throws Exception {
        Tokenizer tok = TestVocabs.stories();
        int e2 = tok.tokenId("<0xE2>"), x82 = tok.tokenId("<0x82>"), xac = tok.tokenId("<0xAC>"), xff = tok.tokenId("<0xFF>");
        StreamingDecoder d = new StreamingDecoder(tok);
        assertEquals("", d.accept(e2));
        assertEquals("", d.accept(x82));
        assertEquals("€", d.accept(xac));
        assertEquals("\uFFFD", d.accept(xff));
        assertEquals("", d.accept(e2));
        assertEquals("\uFFFDa", d.accept(tok.tokenId("a"))); // the sequence broke off
        assertEquals("", d.accept(e2));
        assertEquals("\uFFFD", d.flush());
        assertFalse(d.hasPending());
    }

    @Test
    void completePrefixStopsBeforeAnUnfinishedSequenceOnly() {
        assertEquals(1, StreamingDecoder.completePrefix(new byte[] {'A', (byte) 0xE2, (byte) 0x82}));
        assertEquals(3, StreamingDecoder.completePrefix(new byte[] {(byte) 0xE2, (byte) 0x82, (byte) 0xAC}));
        assertEquals(0, StreamingDecoder.completePrefix(new byte[] {(byte) 0xF0, (byte) 0x9F, (byte) 0xA6}));
        assertEquals(4, StreamingDecoder.completePrefix(new byte[] {(byte) 0xF0, (byte) 0x9F, (byte) 0xA6, (byte) 0x99}));
        assertEquals(1, StreamingDecoder.completePrefix(new byte[] {(byte) 0xFF}));
        assertEquals(1, StreamingDecoder.completePrefix(new byte[] {(byte) 0x80}));
        assertEquals(0, StreamingDecoder.completePrefix(new byte[0]));
    }

    @Test
    void controlTokensAreRenderedOnlyWhenAskedFor() throws Exception {
        Tokenizer tok = TestVocabs.load("gpt-2");
        assertEquals("", new StreamingDecoder(tok).accept(50256));
        assertEquals("<|endoftext|>", new StreamingDecoder(tok, true).accept(50256));
        assertEquals("", tok.decode(new int[] {50256}));
        assertEquals("<|endoftext|>", tok.decode(new int[] {50256}, true));
        assertEquals(0, tok.tokenBytes(50256).length);
    }
}
