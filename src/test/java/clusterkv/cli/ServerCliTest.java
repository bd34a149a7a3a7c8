package clusterkv.cli;

import org.junit.jupiter.api.Test;

import java.net.ServerSocket;

import static org.junit.jupiter.api.Assertions.*;

/** {@code serve} refuses bad options with one error line before it binds anything. */
class ServerCliTest {

    private static final String MODEL = "src/test/data/models/stories260K.gguf";

    private static void assertFails(String expected, String... args) {
        BadInputTest.Outcome o = BadInputTest.run(args);
        assertNotEquals(0, o.code());
        String[] lines = o.err().strip().split("\n");
        assertEquals(1, lines.length, o.err());
        assertTrue(lines[0].startsWith("error: ") && lines[0].contains(expected), lines[0]);
    }

    @Test
    void badOptions() {
        assertFails("no such file", "serve", "-m", "nope.gguf");
        assertFails("unknown KV policy 'magic'", "serve", "-m", MODEL, "--kv-policy", "magic");
        assertFails("--kv-budget (8) must exceed the sink", "serve", "-m", MODEL, "--kv-policy", "clusterkv", "--kv-budget", "8");
        assertFails("--parallel must be >= 1", "serve", "-m", MODEL, "--parallel", "0");
        assertFails("--kv-stats", "serve", "-m", MODEL, "--kv-stats");
        assertFails("exceeds the model's context", "serve", "-m", MODEL, "-c", "100000");
        assertFails("--max-body-kb must be in [1, 2097151], got 0", "serve", "-m", MODEL, "--max-body-kb", "0");
        assertFails("--header-timeout must be in (0, 86400] seconds", "serve", "-m", MODEL, "--header-timeout", "0");
        assertFails("--body-timeout must be in (0, 86400] seconds", "serve", "-m", MODEL, "--body-timeout", "-1");
    }

    @Test
    void aTakenPortIsAnError() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            assertFails("in use", "serve", "-m", MODEL, "-c", "64", "--port", Integer.toString(taken.getLocalPort()));
        }
    }
}
