/**
 * One class per KV policy (full, ClusterKV, Quest, StreamingLLM, H2O, SnapKV), chosen by name in
 * {@code SessionOptions.withPolicy}.
 * <p>Internal: public for the engine's other packages, with no compatibility promise between versions.
 */
package clusterkv.kv.policy;
