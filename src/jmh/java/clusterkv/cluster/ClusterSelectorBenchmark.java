package clusterkv.cluster;

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
import org.openjdk.jmh.annotations.Warmup;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * ClusterKV's per-step selection over the {@link ClusterIndex} of a {@code context}-token prompt
 * (ClusterCount.forPrompt clusters: 410 at 32k), one thread:
 * <ul>
 *   <li>{@code score}: q . every centroid ({@link ClusterIndex#score});</li>
 *   <li>{@code select}: score + choosing clusters up to {@code budget} tokens, for one query head;</li>
 *   <li>{@code selectShared}: the same once for a GQA group of 4 query heads (sum of their scores).</li>
 * </ul>
 * The calls cycle through 64 queries (keys of random tokens), so that the branch predictors cannot learn one
 * selection.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgs = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow"})
public class ClusterSelectorBenchmark {

    private static final int QUERIES = 64, GROUP = 4;

    @Param({"32768"})
    public int context;

    @Param({"128"})
    public int d;

    @Param({"1024"})
    public int budget;

    private ClusterIndex index;
    private final ClusterSelector selector = new ClusterSelector();
    private float[] queries, scores;
    private int[] clusterOut, takeOut;
    private int next;

    @Setup(Level.Trial)
    public void setup() {
        float[] keys = BenchKeys.synthetic(context, d, 9);
        int k = ClusterCount.forPrompt(context, 0);
        index = ClusterIndex.build(KMeans.cluster(keys, 0, context, d, k, 42), 0);
        Random rnd = new Random(13);
        queries = new float[QUERIES * GROUP * d];
        for (int i = 0; i < QUERIES * GROUP; i++) System.arraycopy(keys, rnd.nextInt(context) * d, queries, i * d, d);
        scores = new float[ClusterIndex.paddedClusters(k)];
        clusterOut = new int[k];
        takeOut = new int[k];
        System.out.printf("%n%d clusters over %d tokens%n", k, context);
    }

    private int nextQuery() {
        int q = next;
        next = (next + 1) % QUERIES;
        return q * GROUP * d;
    }

    @Benchmark
    public float[] score() {
        index.score(queries, nextQuery(), scores);
        return scores;
    }

    @Benchmark
    public int select() {
        return selector.select(queries, nextQuery(), index, budget, clusterOut, takeOut);
    }

    @Benchmark
    public int selectShared() {
        return selector.selectShared(queries, nextQuery(), GROUP, index, budget, clusterOut, takeOut);
    }
}
