package clusterkv.eval;

import java.util.Map;

/**
 * The slice of the grid that a cluster's job scheduler gives this process, when {@code --shard} does not:
 * <ul>
 *   <li>a Kubernetes Indexed Job sets {@code JOB_COMPLETION_INDEX} (0 to completions - 1) in every pod; the count is
 *       not in the environment, so the Job's manifest sets {@code JOB_COMPLETIONS} to its {@code completions};</li>
 *   <li>a Slurm array ({@code sbatch --array=A-B[:S]}) sets {@code SLURM_ARRAY_TASK_ID}, {@code _MIN}, {@code _STEP}
 *       and {@code _COUNT}.</li>
 * </ul>
 *
 * @param index  1-based, as {@code --shard i/n}
 * @param source where it came from, for the log line
 */
public record ShardEnvironment(int index, int count, String source) {

    /** The shard the environment names, or null when it names none; a half-set or inconsistent one is an error. */
    public static ShardEnvironment from(Map<String, String> env) {
        if (env.containsKey("JOB_COMPLETION_INDEX")) {
            int index = number(env, "JOB_COMPLETION_INDEX"), count = required(env, "JOB_COMPLETIONS",
                    "JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but JOB_COMPLETIONS is not: set it to the Job's completions in the manifest");
            return checked(index + 1, count, "JOB_COMPLETION_INDEX=" + index + " of JOB_COMPLETIONS=" + count);
        }
        if (env.containsKey("SLURM_ARRAY_TASK_ID")) {
            int id = number(env, "SLURM_ARRAY_TASK_ID");
            int count = required(env, "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not");
            int min = env.containsKey("SLURM_ARRAY_TASK_MIN") ? number(env, "SLURM_ARRAY_TASK_MIN") : 0;
            int step = env.containsKey("SLURM_ARRAY_TASK_STEP") ? number(env, "SLURM_ARRAY_TASK_STEP") : 1;
            if (step < 1 || (id - min) % step != 0) {
                throw new IllegalArgumentException("SLURM_ARRAY_TASK_ID=" + id + " is not on the array's grid (MIN " + min + ", STEP " + step + ")");
            }
            return checked((id - min) / step + 1, count, "SLURM_ARRAY_TASK_ID=" + id + " of SLURM_ARRAY_TASK_COUNT=" + count);
        }
        return null;
    }

    private static ShardEnvironment checked(int index, int count, String source) {
        if (count < 1 || index < 1 || index > count) throw new IllegalArgumentException(source + " is not a shard of the grid (index out of range)");
        return new ShardEnvironment(index, count, source);
    }

    private static int required(Map<String, String> env, String key, String message) {
        if (!env.containsKey(key)) throw new IllegalArgumentException(message);
        return number(env, key);
    }

    private static int number(Map<String, String> env, String key) {
        try {
            return Integer.parseInt(env.get(key).strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a whole number, got '" + env.get(key) + "'");
        }
    }
}
