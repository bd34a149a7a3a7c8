package clusterkv.eval;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** results.jsonl: round trip, a cut-short last line, corrupt lines, and never mixing runs. */
class ResultsLogTest {

    @TempDir
    Path dir;

    private static EvalResult result(int sample, double score) {
        return new EvalResult(new EvalCase("copy", "quest", 64, 512, null, sample), score, 31, 1.5,
                Map.of("topk_recall", 0.5), 0.25, "m.gguf", "detail");
    }

    @Test
    void roundTrip() throws Exception {
        try (ResultsLog log = ResultsLog.open(dir, false)) {
            log.append(result(0, 0.25));
            log.append(result(1, 0.75));
        }
        List<EvalResult> back = ResultsLog.read(dir.resolve(ResultsLog.FILE));
        assertEquals(2, back.size());
        assertEquals(result(1, 0.75).evalCase(), back.get(1).evalCase());
        assertEquals(0.75, back.get(1).score());
        assertEquals(1.5, back.get(1).nll());
        assertEquals(0.5, back.get(1).kvStats().get("topk_recall"));
    }

    @Test
    void resumeDropsOnlyACutShortLastLine() throws Exception {
        try (ResultsLog log = ResultsLog.open(dir, false)) {
            log.append(result(0, 0.25));
        }
        Path file = dir.resolve(ResultsLog.FILE);
        String finished = Files.readString(file);
        Files.writeString(file, finished + "{\"task\":\"copy\",\"pol", StandardCharsets.UTF_8);
        assertEquals(1, ResultsLog.read(file).size(), "the partial line is not a result");
        try (ResultsLog log = ResultsLog.open(dir, true)) {
            log.append(result(1, 0.5));
        }
        assertTrue(Files.readString(file).startsWith(finished), "finished results untouched");
        assertEquals(2, ResultsLog.read(file).size());
    }

    @Test
    void corruptLinesAreErrorsNamingTheLine() throws Exception {
        Path file = dir.resolve(ResultsLog.FILE);
        Files.writeString(file, "{\"task\":\"copy\",\"policy\":\"full\",\"budget\":0,\"context\":512,\"sample\":0,\"score\":1,\"n\":1}\nnot json\n");
        var e = assertThrows(IllegalArgumentException.class, () -> ResultsLog.read(file));
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
        Files.writeString(file, "{\"task\":\"copy\",\"policy\":\"full\",\"budget\":0,\"context\":512,\"sample\":0,\"n\":1}\n");
        e = assertThrows(IllegalArgumentException.class, () -> ResultsLog.read(file));
        assertTrue(e.getMessage().contains("line 1") && e.getMessage().contains("score"), e.getMessage());
    }

    @Test
    void aNewRunRefusesToMixIntoOldResults() throws Exception {
        try (ResultsLog log = ResultsLog.open(dir, false)) {
            log.append(result(0, 0.25));
        }
        String before = Files.readString(dir.resolve(ResultsLog.FILE));
        assertThrows(IllegalArgumentException.class, () -> ResultsLog.open(dir, false));
        assertEquals(before, Files.readString(dir.resolve(ResultsLog.FILE)));
    }
}
