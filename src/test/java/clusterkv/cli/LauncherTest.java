package clusterkv.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The launcher script's stderr filter, run against a stand-in JVM (a shell script) so that the test takes
 * milliseconds: only the incubator warning goes, every other byte passes.
 */
class LauncherTest {

    @TempDir
    Path dir;

    @Test
    void hidesTheIncubatorWarningAndPassesBinaryBytes() throws Exception {
        Files.createDirectories(dir.resolve("scripts"));
        Files.copy(Path.of("clusterkv"), dir.resolve("clusterkv"));
        Files.copy(Path.of("scripts/jdk.sh"), dir.resolve("scripts/jdk.sh"));
        Files.createDirectories(dir.resolve("target"));
        Files.createFile(dir.resolve("target/clusterkv.jar")); // no src/main beside it: the launcher does not rebuild
        executable(dir.resolve("jdk/bin/java"), """
                #!/bin/sh
                case "$1" in -XshowSettings*) echo "    java.specification.version = 25" >&2; exit 0;; esac
                echo "WARNING: Using incubator modules: jdk.incubator.vector" >&2
                printf 'error: bad name \\377\\000 here\\n' >&2
                echo "WARNING: Using incubator modules: jdk.incubator.vector and more" >&2
                exit 3
                """);
        executable(dir.resolve("bin/mvn"), "#!/bin/sh\nexit 1\n");

        ProcessBuilder pb = new ProcessBuilder("bash", dir.resolve("clusterkv").toString(), "generate");
        pb.environment().put("JAVA_HOME", dir.resolve("jdk").toString());
        pb.environment().put("PATH", dir.resolve("bin") + ":" + System.getenv("PATH"));
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        p.getErrorStream().transferTo(err); // until the filter, the last writer, closes it
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(3, p.exitValue(), "the JVM's exit code");
        byte[] expected = "error: bad name \377\000 here\nWARNING: Using incubator modules: jdk.incubator.vector and more\n"
                .getBytes(StandardCharsets.ISO_8859_1);
        assertArrayEquals(expected, err.toByteArray(), err.toString(StandardCharsets.ISO_8859_1));
    }

    private static void executable(Path file, String text) throws Exception {
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
