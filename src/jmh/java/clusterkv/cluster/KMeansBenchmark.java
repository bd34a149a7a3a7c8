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

import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * Cosine K-means of one KV head's keys, on all compute threads:
 * <ul>
 *   <li>{@code oneRound}: {@link KMeans#cluster} with one round, the whole call (normalizing the keys,
 *       one assignment, grouping, one centroid update);</li>
 *   <li>{@code assign}: the assignment step alone, {@link CosineArgmax} (pack + assign) on fixed centroids,
 *       which is almost all of each of the 20 rounds: GFLOP/s = 2 * keys * k * d / time.</li>
 * </ul>
 * k = 400 is ClusterCount.forPrompt for prompts up to 32k; 200 is the decode windows' granularity
 * (ClusterCount.forWindow: one cluster per 40 tokens) for 8k tokens.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgs = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow"})
public class KMeansBenchmark {

    @Param({"8192"})
    public int keys;

    @Param({"128"})
    public int d;

    @Param({"200", "400"})
    public int k;

    private float[] data, normalized, centroids;
    private int[] assignment;
    private CosineArgmax argmax;

    @Setup(Level.Trial)
    public void setup() {
        data = BenchKeys.synthetic(keys, d, 3);
        normalized = new float[CosineArgmax.paddedRows(keys) * d];
        for (int i = 0; i < keys; i++) {
            float inv = CosineArgmax.inverseNorm(data, i * d, d);
            for (int j = 0; j < d; j++) normalized[i * d + j] = data[i * d + j] * inv;
        }
        int[] initial = KMeans.initialPositions(keys, k, 42);
        centroids = new float[k * d];
        for (int c = 0; c < k; c++) System.arraycopy(data, initial[c] * d, centroids, c * d, d);
        argmax = new CosineArgmax(d, k);
        assignment = new int[keys];
    }

    @Benchmark
    public KMeans.Result oneRound() {
        return KMeans.cluster(data, 0, keys, d, k, 1, 42);
    }

    @Benchmark
    public int[] assign() {
        Arrays.fill(assignment, -1); // so that every call sees a changed assignment, as in the first rounds
        argmax.pack(centroids);
        argmax.assign(normalized, keys, assignment);
        return assignment;
    }
}
