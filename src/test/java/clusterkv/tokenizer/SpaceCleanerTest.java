package clusterkv.tokenizer;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** llama.cpp's clean_spaces step of detokenizing. */
class SpaceCleanerTest {

    private static String clean(String s) {
        return new String(SpaceCleaner.clean(s.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
    }

    @Test
    void removesSpacesBeforePunctuation() {
        assertEquals("Hello, world! Really? Yes.", clean("Hello , world ! Really ? Yes ."));
    }

    @Test
    void removesSpacesAroundALoneApostrophe() {
        assertEquals("rock'n roll", clean("rock ' n roll"));
    }

    @Test
    void removesTheSpaceBeforeSomeContractionsOnly() {
        assertEquals("it's I'm we're you've", clean("it 's I 'm we 're you 've"));
        assertEquals("don 't I 'll I 'd", clean("don 't I 'll I 'd"));
    }

    @Test
    void leavesOtherTextAlone() {
        assertEquals("", clean(""));
        assertEquals(" ", clean(" "));
        assertEquals("naïve ½ 🦙", clean("naïve ½ 🦙"));
    }
}
