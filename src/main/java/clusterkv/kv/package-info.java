/**
 * The KV cache, attention and the policy interface. Options that the API takes are
 * {@link clusterkv.kv.PolicyConfig}, {@link clusterkv.kv.KVFormat} and {@link clusterkv.kv.KVType}; the rest is internal.
 */
package clusterkv.kv;
