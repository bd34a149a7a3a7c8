/**
 * Weight types and kernels, vector shapes, threads, machine probes.
 * <p>Internal: public for the engine's other packages, with no compatibility promise between versions.
 */
package clusterkv.tensor;
