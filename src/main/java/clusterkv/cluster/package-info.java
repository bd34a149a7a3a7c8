/**
 * Cosine K-means, the cluster index and budgeted cluster selection, for the ClusterKV policy.
 * <p>Internal: public for the engine's other packages, with no compatibility promise between versions.
 */
package clusterkv.cluster;
