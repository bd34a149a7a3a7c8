package clusterkv.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

class PrintableTest {

    @Test
    void plainTextIsReturnedAsIs() {
        String s = "blk.0.attn_q.weight — ünïcödé 🙂";
        assertSame(s, Printable.escape(s));
    }

    @Test
    void controlCharactersBecomeHexEscapes() {
        assertEquals("a\\x1b[2Jb\\x0ac\\x00d\\x7fe\\x9bf\\x09", Printable.escape("a\u001b[2Jb\nc\u0000d\u007fe\u009bf\t"));
    }

    @Test
    void loneSurrogatesAreEscapedAndPairsKept() {
        assertEquals("x\\ud800y\\udc00z🙂", Printable.escape("x\ud800y\udc00z\ud83d\ude42"));
    }
}
