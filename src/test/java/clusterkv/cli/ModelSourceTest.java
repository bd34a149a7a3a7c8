package clusterkv.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** hf:// sources stay inside the cache folder, and a download appears there whole or not at all. */
class ModelSourceTest {

    /** Nothing listens there: a test that reached the network would fail with "cannot download". */
    private static final String NO_HUB = "http://127.0.0.1:9/";

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"hf://a/b//etc/passwd", "hf://../../../etc/passwd", "hf://a/b/../../../../etc/passwd",
            "hf://a/../x.gguf", "hf://a/b/./x.gguf", "hf://a/b/.", "hf://a/b/..", "hf://a//x.gguf", "hf:///b/x.gguf", "hf://a/b/",
            "hf://a/b/c\\..\\..\\x.gguf", "hf://a/b/x\u001b[2J.gguf", "hf://a/b/x\n.gguf", "hf://a/b/C:x.gguf", "hf://a/b"})
    void refusesSourcesThatCouldLeaveTheCache(String spec) {
        Path cache = dir.resolve("cache");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelSource.resolve(spec, cache, NO_HUB));
        assertTrue(e.getMessage().startsWith("expected hf://owner/repo/file.gguf"), e.getMessage());
        assertFalse(Files.exists(cache), "nothing written");
    }

    @Test
    void theRefusalIsOneEscapedLine() {
        BadInputTest.Outcome o = BadInputTest.run("tokenize", "-m", "hf://a/b//etc/passwd\u001b[2J", "-p", "x");
        assertEquals(1, o.code(), o.err());
        assertEquals("error: expected hf://owner/repo/file.gguf with names of letters, digits and _ . + = - (not starting with a dot), "
                + "got 'hf://a/b//etc/passwd\\x1b[2J'", o.err().strip());
    }

    @Test
    void downloadsIntoTheCacheThenReadsItFromThere() throws Exception {
        byte[] model = "GGUF and some bytes".getBytes(StandardCharsets.US_ASCII);
        Path cache = dir.resolve("cache");
        ServerSocket hub = serve("/owner/repo/resolve/main/sub/m.gguf", model, model.length);
        Path got;
        try {
            got = ModelSource.resolve("hf://owner/repo/sub/m.gguf", cache, "http://127.0.0.1:" + hub.getLocalPort() + "/");
        } finally {
            hub.close();
        }
        assertEquals(cache.toAbsolutePath().resolve("owner/repo/sub/m.gguf"), got);
        assertArrayEquals(model, Files.readAllBytes(got));
        assertEquals(List.of(got), files(got.getParent()), "no .part left beside it");
        assertEquals(got, ModelSource.resolve("hf://owner/repo/sub/m.gguf", cache, NO_HUB), "the second time from the cache");
    }

    @Test
    void aMissingFileOnTheHubIsAnErrorAndLeavesNoFile() throws Exception {
        Path cache = dir.resolve("cache");
        ServerSocket hub = serve("/o/r/resolve/main/other.gguf", new byte[1], 1);
        try {
            IOException e = assertThrows(IOException.class, () -> ModelSource.resolve("hf://o/r/m.gguf", cache, "http://127.0.0.1:" + hub.getLocalPort() + "/"));
            assertTrue(e.getMessage().endsWith(": HTTP 404"), e.getMessage());
        } finally {
            hub.close();
        }
        assertEquals(List.of(), files(cache.resolve("o/r")));
    }

    @Test
    void aBrokenDownloadLeavesNoFile() throws Exception {
        Path cache = dir.resolve("cache");
        ServerSocket hub = serve("/o/r/resolve/main/m.gguf", new byte[10], 1000); // announces 1000 bytes, sends 10
        try {
            assertThrows(IOException.class, () -> ModelSource.resolve("hf://o/r/m.gguf", cache, "http://127.0.0.1:" + hub.getLocalPort() + "/"));
        } finally {
            hub.close();
        }
        assertEquals(List.of(), files(cache.resolve("o/r")), "neither the model nor a .part");
    }

    /**
     * A one-connection hub on a raw socket (so that it can announce more bytes than it sends, then hang up): the body
     * for a GET of path, 404 for anything else.
     */
    private static ServerSocket serve(String path, byte[] body, long announced) throws IOException {
        ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            try (Socket s = server.accept()) {
                String request = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)).readLine();
                OutputStream out = s.getOutputStream();
                if (request == null || !request.startsWith("GET " + path + " ")) {
                    out.write("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                } else {
                    out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + announced + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(body);
                }
                out.flush();
            } catch (IOException e) {
                // the client went away: its side of the test reports that
            }
        });
        return server;
    }

    private static List<Path> files(Path folder) throws IOException {
        if (!Files.isDirectory(folder)) return List.of();
        try (Stream<Path> s = Files.list(folder)) {
            return s.toList();
        }
    }
}
