package clusterkv.kv.policy;

import clusterkv.kv.LayerPolicy;
import clusterkv.kv.PolicyConfig;
import clusterkv.kv.Selection;
import org.junit.jupiter.api.Test;

import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;

class StreamingPolicyTest {

    @Test
    void sinksAndTheRecentWindowAndNothingThatSlidOutEvenAfterARewind() {
        // budget 48, 4 sinks: the window holds the last 44 slots
        LayerPolicy lp = new StreamingPolicy(new PolicyConfig(48, -1, 0, 0, 20, 2, false, false, 16, 0)).forLayer(2, 2, 1, 8);
        Selection[] perHead = {new Selection(), new Selection()};
        lp.select(null, new float[16], 40, perHead);
        assertEquals(range(0, 40), PolicyFixture.set(perHead[0]));
        lp.select(null, new float[16], 200, perHead);
        TreeSet<Integer> want = range(0, 4);
        want.addAll(range(156, 200));
        assertEquals(want, PolicyFixture.set(perHead[0]));
        assertEquals(want, PolicyFixture.set(perHead[1]));
        // rewound to 170 and one token on: slots 127..155 would be in a fresh window, but they slid out already
        // (and their memory may be gone): only what was still kept comes back
        lp.truncate(null, 170);
        lp.select(null, new float[16], 171, perHead);
        want = range(0, 4);
        want.addAll(range(156, 171));
        assertEquals(want, PolicyFixture.set(perHead[0]));
        // rewound to the sinks: everything after them is rewritten, a fresh start
        lp.truncate(null, 4);
        lp.select(null, new float[16], 30, perHead);
        assertEquals(range(0, 30), PolicyFixture.set(perHead[0]));
    }

    private static TreeSet<Integer> range(int from, int to) {
        TreeSet<Integer> s = new TreeSet<>();
        for (int i = from; i < to; i++) s.add(i);
        return s;
    }
}
