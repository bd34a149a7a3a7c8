package clusterkv.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** The long-context part of bench on a real small model: one row per policy, in either order of decoding. */
class BenchCommandTest {

    private static JsonNode bench(String... extra) throws Exception {
        String[] base = {"bench", "-m", "src/test/data/models/stories260K.gguf", "--skip-prefill", "--context", "400",
                "--kv-policy", "full,clusterkv,streaming", "--kv-budget", "64", "-n", "16", "--json"};
        String[] args = java.util.Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        BadInputTest.Outcome o = BadInputTest.run(args);
        assertEquals(0, o.code(), o.err());
        return new ObjectMapper().readTree(o.out());
    }

    @Test
    void everyPolicyGetsARowWhetherDecodedInTurnsOrOneAfterAnother() throws Exception {
        for (JsonNode r : new JsonNode[]{bench(), bench("--interleave")}) {
            JsonNode rows = r.get("policies");
            assertEquals(3, rows.size(), r.toString());
            long fullBytes = rows.get(0).get("kv_bytes_read_per_token").asLong();
            for (int i = 0; i < 3; i++) {
                JsonNode row = rows.get(i);
                assertEquals(new String[]{"full", "clusterkv", "streaming"}[i], row.get("policy").asText());
                assertEquals(400, row.get("context").asInt());
                assertTrue(row.get("decode_tokens_per_s").asDouble() > 0, row.toString());
                assertTrue(row.get("kv_bytes_read_per_token").asLong() > 0, row.toString());
            }
            assertEquals(1.0, rows.get(0).get("ratio_to_full").asDouble());
            // StreamingLLM reads its 64 tokens per head in the 3 sparse layers instead of all ~400 (the 2 dense layers read everything)
            assertTrue(rows.get(2).get("kv_bytes_read_per_token").asLong() < fullBytes * 3 / 5, rows.get(2) + " against full's " + fullBytes);
            double hit = rows.get(1).get("cluster_cache_hit_rate").asDouble();
            assertTrue(hit >= 0 && hit <= 1, "hit rate " + hit);
            assertFalse(rows.get(2).has("cluster_cache_hit_rate"), "only ClusterKV has a cluster cache");
        }
    }

    @Test
    void namesTheVectorShapeTheJvmRunsWith() throws Exception {
        JsonNode cpu = bench().get("cpu");
        int preferred = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize();
        assertEquals(preferred, cpu.get("vectorBits").asInt(), cpu.toString());
        assertEquals(preferred / 32, cpu.get("floatLanes").asInt());
        int registers = cpu.get("registers").asInt();
        assertTrue(registers == 16 || registers == 32, cpu.toString());
        assertFalse(cpu.get("model").asText().isBlank());
        if (java.nio.file.Files.isReadable(java.nio.file.Path.of("/proc/cpuinfo")) && preferred >= 256) {
            assertTrue(cpu.get("features").toString().contains("avx2") || cpu.get("features").toString().contains("asimd"), cpu.toString());
        }
    }
}
