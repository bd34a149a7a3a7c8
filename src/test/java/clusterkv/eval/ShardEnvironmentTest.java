package clusterkv.eval;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shard a Kubernetes Indexed Job or a Slurm array names: every task gets one, and no two the same. */
class ShardEnvironmentTest {

    private static String shard(Map<String, String> env) {
        ShardEnvironment s = ShardEnvironment.from(env);
        return s.index() + "/" + s.count();
    }

    @Test
    void anIndexedJobsPodsTakeEveryShardOnce() {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 4; i++) seen.add(shard(Map.of("JOB_COMPLETION_INDEX", Integer.toString(i), "JOB_COMPLETIONS", "4")));
        assertEquals(Set.of("1/4", "2/4", "3/4", "4/4"), seen);
    }

    @Test
    void slurmArraysFromAnyFirstIdAndWithAStep() {
        assertEquals("1/8", shard(Map.of("SLURM_ARRAY_TASK_ID", "1", "SLURM_ARRAY_TASK_MIN", "1", "SLURM_ARRAY_TASK_COUNT", "8")));
        assertEquals("8/8", shard(Map.of("SLURM_ARRAY_TASK_ID", "8", "SLURM_ARRAY_TASK_MIN", "1", "SLURM_ARRAY_TASK_COUNT", "8")));
        // --array=0-14:2
        assertEquals("3/8", shard(Map.of("SLURM_ARRAY_TASK_ID", "4", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_STEP", "2", "SLURM_ARRAY_TASK_COUNT", "8")));
        assertEquals("1/2", shard(Map.of("SLURM_ARRAY_TASK_ID", "0", "SLURM_ARRAY_TASK_COUNT", "2")));
    }

    @Test
    void noSchedulerNoShard() {
        assertNull(ShardEnvironment.from(Map.of("HOME", "/root")));
    }

    @Test
    void aHalfSetOrInconsistentEnvironmentIsAnError() {
        assertMessage(Map.of("JOB_COMPLETION_INDEX", "0"), "JOB_COMPLETIONS is not");
        assertMessage(Map.of("JOB_COMPLETION_INDEX", "3", "JOB_COMPLETIONS", "3"), "not a shard");
        assertMessage(Map.of("JOB_COMPLETION_INDEX", "x", "JOB_COMPLETIONS", "3"), "whole number");
        assertMessage(Map.of("SLURM_ARRAY_TASK_ID", "3"), "SLURM_ARRAY_TASK_COUNT is not");
        assertMessage(Map.of("SLURM_ARRAY_TASK_ID", "3", "SLURM_ARRAY_TASK_STEP", "2", "SLURM_ARRAY_TASK_COUNT", "4"), "not on the array's grid");
    }

    private static void assertMessage(Map<String, String> env, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ShardEnvironment.from(env));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
