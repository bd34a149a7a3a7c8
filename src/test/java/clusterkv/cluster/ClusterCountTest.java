package clusterkv.cluster;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ClusterCountTest {

    @Test
    void promptDefaultIs400() {
        assertEquals(400, ClusterCount.forPrompt(2048, 0));
        assertEquals(400, ClusterCount.forPrompt(32000, 0));
        assertEquals(410, ClusterCount.forPrompt(32768, 0));   // ceil(409.6): above 400 already
    }

    @Test
    void longPromptsGetOneClusterPer80Tokens() {
        assertEquals(1639, ClusterCount.forPrompt(131072, 0));   // ceil(1638.4)
        assertEquals(401, ClusterCount.forPrompt(32001, 0));     // ceil(400.0125)
        assertEquals(400, ClusterCount.forPrompt(32000, 0));
    }

    @Test
    void shortPromptsGetAtMostOneClusterPer4Tokens() {
        assertEquals(25, ClusterCount.forPrompt(100, 0));
        assertEquals(400, ClusterCount.forPrompt(1600, 0));
        assertEquals(399, ClusterCount.forPrompt(1599, 0));
        assertEquals(1, ClusterCount.forPrompt(3, 0));
        assertEquals(1, ClusterCount.forPrompt(1, 0));
        assertEquals(0, ClusterCount.forPrompt(0, 0));
    }

    @Test
    void requestedCountWinsButIsCappedAtN() {
        assertEquals(64, ClusterCount.forPrompt(100_000, 64));
        assertEquals(100, ClusterCount.forPrompt(100, 500));
    }

    @Test
    void windowsGetOneClusterPerBudgetOver16TokensBetween4And40() {
        assertEquals(8, ClusterCount.forWindow(320, 1024));  // 1024 / 16 = 64, capped at 40 tokens per cluster
        assertEquals(8, ClusterCount.forWindow(320, 640));   // exactly 40
        assertEquals(10, ClusterCount.forWindow(320, 512));  // 32 tokens per cluster
        assertEquals(2, ClusterCount.forWindow(32, 256));    // 16
        assertEquals(4, ClusterCount.forWindow(16, 64));     // 4
        assertEquals(4, ClusterCount.forWindow(16, 16));     // 1, raised to 4
        assertEquals(1, ClusterCount.forWindow(39, 1024));
        assertEquals(1, ClusterCount.forWindow(1, 64));
        assertEquals(2, ClusterCount.forWindow(80, 1024));
        assertEquals(0, ClusterCount.forWindow(0, 64));
    }
}
