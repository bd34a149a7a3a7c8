package clusterkv.eval;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * results.jsonl: one finished case per line, appended and flushed as soon as the case ends, so that an
 * interrupted run loses at most the case in flight. Reading is strict: a line that does not parse is an
 * error naming the line, never silently skipped; only a last line without its newline (a write cut short)
 * is dropped, since it was never a finished result.
 */
public final class ResultsLog implements AutoCloseable {

    public static final String FILE = "results.jsonl";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Writer out;

    private ResultsLog(Writer out) {
        this.out = out;
    }

    /** Finished results in the file, in order. */
    public static List<EvalResult> read(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        List<EvalResult> results = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        int complete = lines.length - 1; // the last piece is empty, or a line cut short
        for (int i = 0; i < complete; i++) {
            if (lines[i].isBlank()) continue;
            try {
                results.add(EvalResult.fromJson(JSON.readValue(lines[i], new TypeReference<Map<String, Object>>() {})));
            } catch (IOException | IllegalArgumentException e) {
                throw new IllegalArgumentException(file + " line " + (i + 1) + " is not a valid result (" + firstLine(e) + "); fix or remove that line");
            }
        }
        return results;
    }

    /**
     * Opens {@code dir/results.jsonl} for appending. Without resume an existing non-empty file is an error (its
     * results would otherwise be mixed with a new run's); with resume, a cut-short last line is removed first.
     */
    public static ResultsLog open(Path dir, boolean resume) throws IOException {
        Path file = dir.resolve(FILE);
        if (Files.exists(file) && Files.size(file) > 0) {
            if (!resume) {
                throw new IllegalArgumentException(file + " already holds results: pass --resume to continue that run, or choose another -o folder");
            }
            dropPartialLastLine(file);
        }
        Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        return new ResultsLog(w);
    }

    /** Writes the results as a new file (for merges); fails rather than replace an existing one. */
    public static void writeNew(Path file, List<EvalResult> results) throws IOException {
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE_NEW)) {
            for (EvalResult r : results) w.write(JSON.writeValueAsString(r.toJson()) + "\n");
        }
    }

    public synchronized void append(EvalResult r) {
        try {
            out.write(JSON.writeValueAsString(r.toJson()) + "\n");
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void dropPartialLastLine(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        if (bytes[bytes.length - 1] == '\n') return;
        int keep = bytes.length;
        while (keep > 0 && bytes[keep - 1] != '\n') keep--;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(keep);
        }
        System.err.println("note: dropped an unfinished last line of " + file + " (a case cut off mid-write; it will be run again)");
    }

    private static String firstLine(Exception e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
