package clusterkv.kv;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Decode attention over a gathered set: {@link SparseAttention#attend} of one KV head's GQA group of
 * {@code group} query heads over {@code selected} cache slots out of {@code context} (an F16 cache filled
 * by {@link SyntheticKVFill}). The slots are {@code selected / rangeTokens} ranges of {@code rangeTokens}
 * slots at random places, in random order, as ClusterKV's cluster-contiguous layout gives (about 80 tokens
 * per cluster at 32k). One thread: the engine runs the KV heads of a layer in parallel.
 *
 * <p>The selected keys and values (selected * headDim * 4 bytes: 256 KiB at d = 64, 512 KiB at d = 128) stay
 * in L2/L3 across calls, so this times the work per token (F16 decode, q . k, exp, the weighted value sum),
 * not DRAM.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgs = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow"})
public class SparseAttentionBenchmark {

    @Param({"64", "128"})
    public int headDim;

    /** Query heads per KV head (GQA); 4 in llama-3.x. */
    @Param({"1", "4"})
    public int group;

    @Param({"32768"})
    public int context;

    @Param({"1024"})
    public int selected;

    @Param({"64"})
    public int rangeTokens;

    private KVCache cache;
    private LayerKV kv;
    private final Selection sel = new Selection();
    private int[] heads;
    private float[] q, out;
    private SparseAttention.Scratch scratch;

    @Setup(Level.Trial)
    public void setup() {
        cache = new KVCache(1, 1, headDim, context, KVType.F16);
        SyntheticKVFill.fill(cache, context, 11);
        kv = new LayerKV(cache, 0);
        Random rnd = new Random(5);
        // Distinct ranges, in random order: a shuffle of the range-sized pieces of the cache.
        int pieces = context / rangeTokens;
        int[] order = new int[pieces];
        for (int i = 0; i < pieces; i++) order[i] = i;
        for (int i = 0; i < pieces; i++) {
            int j = i + rnd.nextInt(pieces - i), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (int i = 0; i < Math.min(pieces, selected / rangeTokens); i++) sel.add(order[i] * rangeTokens, (order[i] + 1) * rangeTokens);
        heads = new int[group];
        for (int g = 0; g < group; g++) heads[g] = g;
        q = new float[group * headDim];
        for (int i = 0; i < q.length; i++) q[i] = (float) (rnd.nextGaussian() / 4);
        out = new float[group * headDim];
        scratch = new SparseAttention.Scratch(headDim, group);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        cache.close();
    }

    @Benchmark
    public float[] attend() {
        SparseAttention.attend(kv, 0, sel, heads, group, q, out, null, scratch);
        return out;
    }
}
