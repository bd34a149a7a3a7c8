package clusterkv.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Decode speed versus context per policy, read from the JSON that {@code bench --sweep-context --json}
 * writes (files named bench*.json in the results folder).
 */
public record Latency(String model, String policy, int budget, int context, double tokensPerSecond) {

    public double msPerToken() {
        return 1000 / tokensPerSecond;
    }

    public static List<Latency> read(Path dir) throws IOException {
        List<Latency> out = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "bench*.json")) {
            for (Path f : files) {
                JsonNode root;
                try {
                    root = new ObjectMapper().readTree(f.toFile());
                } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                    throw new IllegalArgumentException(f + " is not valid JSON: " + e.getOriginalMessage());
                }
                for (JsonNode row : root.path("policies")) {
                    out.add(new Latency(root.path("model").asText(), row.path("policy").asText(), row.path("budget").asInt(), row.path("context").asInt(),
                            row.path("decode_tokens_per_s").asDouble()));
                }
            }
        }
        out.sort(Comparator.comparing(Latency::policy).thenComparingInt(Latency::context));
        return out;
    }
}
