package clusterkv.eval;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Merges the results folders of shards (run in separate processes or machines) into one new folder: every
 * case once (a case present in several shards with different scores is an error: the shards disagree), plus
 * their bench*.json files. Nothing in the input folders is changed.
 */
public final class Merge {

    private Merge() {}

    /** @return the number of distinct cases merged */
    public static int merge(List<Path> inputs, Path output) throws IOException {
        Files.createDirectories(output);
        Path target = output.resolve(ResultsLog.FILE);
        if (Files.exists(target)) throw new IllegalArgumentException(target + " already exists: merge into an empty folder");
        Map<String, EvalResult> merged = new LinkedHashMap<>();
        List<Path> benches = new ArrayList<>();
        for (Path dir : inputs) {
            Path file = dir.resolve(ResultsLog.FILE);
            if (!Files.exists(file)) throw new IllegalArgumentException("no " + ResultsLog.FILE + " in " + dir);
            for (EvalResult r : ResultsLog.read(file)) {
                EvalResult before = merged.putIfAbsent(r.evalCase().key(), r);
                if (before != null && before.score() != r.score()) {
                    throw new IllegalArgumentException("case " + r.evalCase().key() + " has different scores in two inputs ("
                            + before.score() + " and " + r.score() + "): were the shards run with the same settings?");
                }
            }
            try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "bench*.json")) {
                files.forEach(benches::add);
            }
        }
        ResultsLog.writeNew(target, new ArrayList<>(merged.values()));
        for (int i = 0; i < benches.size(); i++) {
            String name = benches.get(i).getFileName().toString();
            Path to = output.resolve(Files.exists(output.resolve(name)) ? "bench-" + i + name.substring("bench".length()) : name);
            Files.copy(benches.get(i), to);
        }
        return merged.size();
    }
}
