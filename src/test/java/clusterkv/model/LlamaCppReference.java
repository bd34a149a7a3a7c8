package clusterkv.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** llama.cpp's reference outputs as stored in src/test/data/models (see src/test/data/README.md). */
record LlamaCppReference(String name, String prompt, int[] tokens, int nPrompt, int nGenerated, int nVocab, float[][] logits) {

    static final Path SHARED = Path.of("src/test/data/models");

    static List<LlamaCppReference> load(Path json) throws IOException {
        List<LlamaCppReference> out = new ArrayList<>();
        for (JsonNode c : new ObjectMapper().readTree(json.toFile())) out.add(of(c, json.getParent()));
        return out;
    }

    /** A file holding a single case (as dump-logits writes it). */
    static LlamaCppReference loadOne(Path json) throws IOException {
        return of(new ObjectMapper().readTree(json.toFile()), json.getParent());
    }

    private static LlamaCppReference of(JsonNode c, Path dir) throws IOException {
        int[] tokens = new int[c.get("tokens").size()];
        for (int i = 0; i < tokens.length; i++) tokens[i] = c.get("tokens").get(i).asInt();
        int nVocab = c.get("n_vocab").asInt();
        int nPrompt = c.get("n_prompt").asInt();
        int nGenerated = c.get("n_generated").asInt();
        byte[] raw = Files.readAllBytes(dir.resolve(c.get("logits_file").asText()));
        ByteBuffer bb = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        int rows = raw.length / 4 / nVocab;
        if (rows != tokens.length) throw new IOException("logits rows " + rows + " != tokens " + tokens.length);
        float[][] logits = new float[rows][nVocab];
        var fb = bb.asFloatBuffer();
        for (float[] row : logits) fb.get(row);
        return new LlamaCppReference(c.path("name").asText(""), c.path("prompt").asText(""), tokens, nPrompt, nGenerated, nVocab, logits);
    }
}
