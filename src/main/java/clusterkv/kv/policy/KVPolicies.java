package clusterkv.kv.policy;

import clusterkv.kv.KVPolicy;
import clusterkv.kv.PolicyConfig;

import java.util.List;
import java.util.function.Function;

/** The policies by command-line name. */
public final class KVPolicies {

    public static final List<String> NAMES = List.of("full", "clusterkv", "quest", "streaming", "h2o", "snapkv");

    private KVPolicies() {}

    public static KVPolicy create(String name, PolicyConfig config) {
        Function<PolicyConfig, KVPolicy> factory = switch (name) {
            case "full" -> FullPolicy::new;
            case "streaming" -> StreamingPolicy::new;
            case "clusterkv" -> ClusterKVPolicy::new;
            case "quest" -> QuestPolicy::new;
            case "h2o" -> H2OPolicy::new;
            case "snapkv" -> SnapKVPolicy::new;
            default -> throw new IllegalArgumentException("unknown KV policy '" + name + "' (known: " + String.join(", ", NAMES) + ")");
        };
        return factory.apply(config);
    }
}
