package clusterkv.cli;

import clusterkv.eval.EvalResult;
import clusterkv.eval.ResultsLog;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The eval command end to end on stories260K at a small context: the report files, resuming an interrupted run,
 * shards merged into one report, and bad input.
 */
class EvalCommandTest {

    private static final String MODEL = "src/test/data/models/stories260K.gguf";
    private static final String CORPUS = "src/test/data/corpus/war_and_peace.txt";
    @TempDir
    static Path dir;
    private static Path complete;

    private static List<String> grid(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("eval", "-m", MODEL, "--task", "passkey,copy,ppl", "--kv-policy", "full,clusterkv,quest",
                "--kv-budget", "32,64", "--context", "160", "--depths", "0,1", "--samples", "2", "--corpus", CORPUS, "-t", "1", "-o", out.toString()));
        a.addAll(List.of(extra));
        return a;
    }

    private static BadInputTest.Outcome run(List<String> args) {
        return BadInputTest.run(args.toArray(String[]::new));
    }

    @BeforeAll
    static void completeRun() {
        complete = dir.resolve("complete");
        BadInputTest.Outcome o = run(grid(complete));
        assertEquals(0, o.code(), o.err());
    }

    private static Map<String, Double> scores(Path results) throws Exception {
        List<EvalResult> rs = ResultsLog.read(results.resolve(ResultsLog.FILE));
        Map<String, Double> m = new HashMap<>();
        for (EvalResult r : rs) assertNull(m.put(r.evalCase().key(), r.score()), "each case once: " + r.evalCase().key());
        return m;
    }

    @Test
    void writesTheReport() throws Exception {
        // passkey 2 depths × 2 samples × (1 + 2 × 2) + (copy, ppl) 2 samples × 5
        assertEquals(20 + 10 + 10, scores(complete).size());
        for (String f : List.of("summary.md", "summary.json", "score_copy_ctx160.png", "score_ppl_ctx160.png", "needle_passkey_clusterkv_b32.png",
                "needle_passkey_clusterkv_ctx160.png", "recall_copy_ctx160.png")) {
            assertTrue(Files.size(complete.resolve(f)) > 1000, f);
        }
        JsonNode summary = new ObjectMapper().readTree(complete.resolve("summary.json").toFile());
        JsonNode first = summary.get("results").get(0);
        for (String field : List.of("task", "policy", "budget", "context", "score", "n")) assertTrue(first.has(field), field);
        assertEquals(3 * 5, summary.get("results").size(), "one pooled cell per task, policy and budget");
        assertFalse(summary.get("fidelity").isEmpty());
        assertTrue(summary.get("fidelity").get(0).has("per_layer"));
        String md = Files.readString(complete.resolve("summary.md"));
        assertTrue(md.contains("## copy, context 160") && md.contains("| full (reference) |") && md.contains("| clusterkv |"), md);
        // the report re-renders from results.jsonl alone
        Files.delete(complete.resolve("summary.md"));
        assertEquals(0, BadInputTest.run("report", complete.toString()).code());
        assertEquals(md, Files.readString(complete.resolve("summary.md")));
    }

    @Test
    void anInterruptedRunResumesWhereItStopped() throws Exception {
        Path out = Files.createDirectories(dir.resolve("interrupted"));
        List<String> lines = Files.readAllLines(complete.resolve(ResultsLog.FILE));
        String kept = lines.subList(0, 7).stream().map(l -> l + "\n").collect(Collectors.joining());
        Files.writeString(out.resolve(ResultsLog.FILE), kept + lines.get(7).substring(0, 30)); // killed mid-write
        BadInputTest.Outcome o = run(grid(out, "--resume"));
        assertEquals(0, o.code(), o.err());
        assertTrue(o.err().contains("7 already done"), o.err());
        assertTrue(Files.readString(out.resolve(ResultsLog.FILE)).startsWith(kept), "finished results kept as they were");
        assertEquals(scores(complete), scores(out), "the same cases and scores as an uninterrupted run");
    }

    @Test
    void shardsMergeIntoTheWholeGrid() throws Exception {
        Path a = dir.resolve("shard1"), b = dir.resolve("shard2"), merged = dir.resolve("merged");
        assertEquals(0, run(grid(a, "--shard", "1/2")).code());
        assertEquals(0, run(grid(b, "--shard", "2/2")).code());
        assertTrue(scores(a).size() < scores(complete).size());
        BadInputTest.Outcome o = BadInputTest.run("eval", "--merge", a.toString(), b.toString(), "-o", merged.toString());
        assertEquals(0, o.code(), o.err());
        assertEquals(scores(complete), scores(merged));
        assertTrue(Files.exists(merged.resolve("summary.md")));
    }

    /** Three pods of a Kubernetes Indexed Job, each taking the shard its environment names, merge into the whole grid. */
    @Test
    void theShardsAnIndexedJobsPodsTakeMergeIntoTheWholeGrid() throws Exception {
        List<Path> parts = new java.util.ArrayList<>();
        for (int pod = 0; pod < 3; pod++) {
            var env = clusterkv.eval.ShardEnvironment.from(java.util.Map.of("JOB_COMPLETION_INDEX", Integer.toString(pod), "JOB_COMPLETIONS", "3"));
            Path out = dir.resolve("pod" + pod);
            assertEquals(0, run(grid(out, "--shard", env.index() + "/" + env.count())).code());
            parts.add(out);
        }
        Path merged = dir.resolve("merged3");
        List<String> args = new java.util.ArrayList<>(List.of("eval", "--merge"));
        for (Path p : parts) args.add(p.toString());
        args.addAll(List.of("-o", merged.toString()));
        assertEquals(0, BadInputTest.run(args.toArray(String[]::new)).code());
        assertEquals(scores(complete), scores(merged));
    }

    @Test
    void retrievalTasksRunEndToEnd() throws Exception {
        Path out = dir.resolve("retrieval");
        BadInputTest.Outcome o = BadInputTest.run("eval", "-m", MODEL, "--task", "passkey,facts,niah,multivalue,multiquery", "--kv-policy", "full,clusterkv",
                "--kv-budget", "64", "--context", "320", "--depths", "0.5", "--samples", "1", "--corpus", CORPUS, "-t", "1", "-o", out.toString());
        assertEquals(0, o.code(), o.err());
        List<EvalResult> rs = ResultsLog.read(out.resolve(ResultsLog.FILE));
        assertEquals(List.of("passkey", "passkey", "facts", "facts", "niah", "niah", "multivalue", "multivalue", "multiquery", "multiquery"),
                rs.stream().map(r -> r.evalCase().task()).toList());
        for (EvalResult r : rs) {
            if (r.evalCase().task().equals("multiquery")) {
                assertEquals(4, r.detail().split("; ").length, "four facts asked: " + r.detail());
                assertEquals(0, r.score() * 4 % 1, 1e-9, "a share of four answers");
                continue;
            }
            assertTrue(r.score() == 0 || r.score() == 1, "retrieval is scored 0 or 1");
            assertTrue(r.detail().startsWith("expected "), r.detail());
            assertEquals(r.evalCase().policy().equals("clusterkv"), r.kvStats() != null, "fidelity for the sparse policy only");
        }
    }

    /** Each KV type other than F16 runs every policy as policy@type; full attention on it is exact (no budget). */
    @Test
    void kvTypesAreRowsOfTheirOwn() throws Exception {
        Path out = dir.resolve("kv-types");
        BadInputTest.Outcome o = BadInputTest.run("eval", "-m", MODEL, "--task", "ppl", "--kv-policy", "full,clusterkv", "--kv-budget", "32",
                "--kv-type", "f16,f32", "--context", "160", "--samples", "1", "--corpus", CORPUS, "-t", "1", "-o", out.toString());
        assertEquals(0, o.code(), o.err());
        List<EvalResult> rs = ResultsLog.read(out.resolve(ResultsLog.FILE));
        assertEquals(List.of("full|0", "clusterkv|32", "full@f32|0", "clusterkv@f32|32"),
                rs.stream().map(r -> r.evalCase().policy() + "|" + r.evalCase().budget()).toList());
        assertNotEquals(rs.get(0).score(), rs.get(2).score(), "an F32 cache is not rounded to F16");
        assertEquals(rs.get(0).score(), rs.get(2).score(), 1e-3 * rs.get(0).score());
        assertNotNull(rs.get(3).kvStats(), "fidelity for the sparse policy on F32 too");
        assertTrue(Files.readString(out.resolve("summary.md")).contains("| clusterkv@f32 |"));
        assertError(BadInputTest.run("eval", "-m", MODEL, "--task", "ppl", "--kv-type", "f16,q8_0", "--corpus", CORPUS,
                "-o", dir.resolve("x9").toString()), "head size is 8");
        assertFalse(Files.exists(dir.resolve("x9").resolve(ResultsLog.FILE)) && Files.size(dir.resolve("x9").resolve(ResultsLog.FILE)) > 0,
                "no case ran before the type was refused");
    }

    @Test
    void fullAttentionAloneGetsAReport() throws Exception {
        Path out = dir.resolve("full-only");
        BadInputTest.Outcome o = BadInputTest.run("eval", "-m", MODEL, "--task", "passkey", "--kv-policy", "full", "--context", "160",
                "--depths", "0.5", "--samples", "2", "-t", "1", "-o", out.toString());
        assertEquals(0, o.code(), o.err());
        assertTrue(Files.readString(out.resolve("summary.md")).contains("| full (reference) |"));
    }

    @Test
    void badInputIsOneLineAndLosesNothing() throws Exception {
        String before = Files.readString(complete.resolve(ResultsLog.FILE));
        assertError(run(grid(dir.resolve("x1"), "--task", "passkey,nope")), "unknown task 'nope'");
        assertError(BadInputTest.run("eval", "-m", MODEL, "--kv-policy", "full,magic", "-o", dir.resolve("x2").toString()), "unknown KV policy 'magic'");
        assertError(BadInputTest.run("eval", "-m", MODEL, "--context", "4096", "-o", dir.resolve("x3").toString()), "longer than the model's context of 2048");
        assertError(run(grid(complete)), "already holds results");
        assertError(BadInputTest.run("eval", "-m", MODEL, "--kv-stats", "--no-kv-stats", "-o", dir.resolve("x4").toString()), "contradict");
        Path file = Files.writeString(dir.resolve("afile"), "x");
        assertError(run(grid(file.resolve("sub"))), "output folder");
        Path corrupt = Files.createDirectories(dir.resolve("corrupt"));
        Files.writeString(corrupt.resolve(ResultsLog.FILE), before.lines().findFirst().orElseThrow() + "\n{broken\n" + before.lines().skip(1).findFirst().orElseThrow() + "\n");
        String corruptBefore = Files.readString(corrupt.resolve(ResultsLog.FILE));
        assertError(run(grid(corrupt, "--resume")), "line 2");
        assertEquals(corruptBefore, Files.readString(corrupt.resolve(ResultsLog.FILE)), "the corrupt file is left as it was");
        assertEquals(before, Files.readString(complete.resolve(ResultsLog.FILE)), "no finished result overwritten");
        assertError(BadInputTest.run("eval", "-m", MODEL, "--task", "copy", "-o", dir.resolve("x4").toString()), "--corpus");
        assertError(BadInputTest.run("eval", "-m", MODEL, "--shard", "3", "-o", dir.resolve("x5").toString()), "--shard");
    }

    private static void assertError(BadInputTest.Outcome o, String expected) {
        assertNotEquals(0, o.code());
        String[] lines = o.err().strip().split("\n");
        String last = lines[lines.length - 1];
        assertTrue(last.startsWith("error: ") && last.contains(expected), o.err());
        assertFalse(o.err().contains("\tat "), "no stack trace");
    }
}
